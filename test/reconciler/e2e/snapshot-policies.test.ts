/**
 * VMSnapshot retentionPolicy and schedules end to end on the real API
 * server, with the in-memory provider in process: maxAge, maxCount,
 * deleteOnVMDelete with its gracePeriod, pinned snapshots that nothing
 * removes (each removal shows as phase Expired and an Expired Event, then
 * the VMSnapshot and the provider's snapshot are gone); schedules that make
 * child snapshots, keep their history limits, honour Forbid while a child
 * is still being taken, suspend, refuse a bad cronSpec, and take their
 * children with them when deleted.
 */
import t from 'tap';
import type { MemoryProvider } from '../../../src/providers/memory';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, createFixtures, memoryRegistry, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

let env: OperatorEnv;
let providers = new Map<string, MemoryProvider>();

const snapshot = (name: string, vm: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name, namespace: env.ns }, spec: { vmRef: { name: vm }, ...spec },
});
const providerSnapshots = (vmId: string) => (providers.get('lab')!.store.read().vms[vmId]?.snapshots ?? []).map((s) => s.id);

async function runningVM(name: string, provider = 'lab'): Promise<string> {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, name, { providerRef: { name: provider } }));
  const vm = await env.waitFor(Kinds.VirtualMachine, name, (o: any) => o.status?.phase === 'Running', 'Running');
  return vm.status.id;
}

async function gone(rt: typeof Kinds.VMSnapshot, name: string, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await env.admin.get(rt, env.ns, name))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function expiredEvent(name: string): Promise<string | undefined> {
  const list = await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name},reason=Expired` });
  return list.items[0]?.message;
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  const { registry, providers: made } = memoryRegistry();
  providers = made;
  // A second Provider whose snapshots take 2.5 s (asynchronous tasks), for the concurrency policy.
  await env.admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider',
    metadata: { name: 'slow', namespace: env.ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: { type: 'libvirt', endpoint: 'https://memory.invalid/slow?completeAfterMs=2500', credentialSecretRef: { name: 'lab-creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '2s' } },
  });
  await env.start({ registry });
});

t.test('maxAge: planned in status.expiryTime, then Expired and deleted with the provider snapshot', async (t) => {
  const id = await runningVM('aged');
  await env.admin.create(Kinds.VMSnapshot, snapshot('short-lived', 'aged', { retentionPolicy: { maxAge: '3s' } }));
  const ready = await env.waitFor(Kinds.VMSnapshot, 'short-lived', (o: any) => o.status?.phase === 'Ready' && o.status.expiryTime, 'Ready with an expiry');
  const planned = Date.parse(ready.status.expiryTime) - Date.parse(ready.status.creationTime);
  t.ok(planned >= 2_000 && planned <= 4_000, `expiry planned maxAge after creation (${planned} ms)`);
  t.same(providerSnapshots(id), [ready.status.snapshotID], 'on the provider');
  t.ok(await gone(Kinds.VMSnapshot, 'short-lived'), 'the VMSnapshot is deleted');
  t.ok(Date.now() >= Date.parse(ready.status.expiryTime), 'not before its expiry');
  t.match(await expiredEvent('short-lived'), /expired: older than retentionPolicy.maxAge 3s/);
  t.same(providerSnapshots(id), [], 'and the provider snapshot with it');
});

t.test('maxCount: a snapshot goes once that many newer ones of the VM are Ready; pinned ones stay', async (t) => {
  const id = await runningVM('counted');
  await env.admin.create(Kinds.VMSnapshot, snapshot('pinned', 'counted', { metadata: { pinned: true }, retentionPolicy: { maxCount: 1, maxAge: '1s' } }));
  await env.waitFor(Kinds.VMSnapshot, 'pinned', (o: any) => o.status?.phase === 'Ready', 'Ready');
  await env.admin.create(Kinds.VMSnapshot, snapshot('first', 'counted', { retentionPolicy: { maxCount: 1 } }));
  const first = await env.waitFor(Kinds.VMSnapshot, 'first', (o: any) => o.status?.phase === 'Ready', 'Ready');
  t.equal(first.status.expiryTime, undefined, 'no expiry while it is the newest');
  await new Promise((r) => setTimeout(r, 1_100)); // creationTime has a one-second resolution
  await env.admin.create(Kinds.VMSnapshot, snapshot('second', 'counted', { retentionPolicy: { maxCount: 1 } }));
  await env.waitFor(Kinds.VMSnapshot, 'second', (o: any) => o.status?.phase === 'Ready', 'Ready');
  t.ok(await gone(Kinds.VMSnapshot, 'first'), 'the older one is deleted');
  t.match(await expiredEvent('first'), /1 newer snapshots of the VM exist \(retentionPolicy.maxCount 1\)/);
  await new Promise((r) => setTimeout(r, 1_500));
  const pinned = await env.admin.get(Kinds.VMSnapshot, env.ns, 'pinned');
  t.equal(pinned?.status?.phase, 'Ready', 'the pinned one stays, past maxAge and maxCount (preservePinned)');
  t.equal(pinned.status.expiryTime, undefined);
  t.ok(await env.admin.get(Kinds.VMSnapshot, env.ns, 'second'), 'the newest stays');
  t.equal(providerSnapshots(id).length, 2, 'two snapshots left on the provider');
});

t.test('deleteOnVMDelete: gone a gracePeriod after its VM; deleteOnVMDelete false keeps the record', async (t) => {
  await runningVM('doomed');
  await env.admin.create(Kinds.VMSnapshot, snapshot('follows', 'doomed', { retentionPolicy: { gracePeriod: '2s' } }));
  await env.admin.create(Kinds.VMSnapshot, snapshot('keeper', 'doomed', { retentionPolicy: { deleteOnVMDelete: false } }));
  for (const n of ['follows', 'keeper']) await env.waitFor(Kinds.VMSnapshot, n, (o: any) => o.status?.phase === 'Ready', 'Ready');
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'doomed');
  const noticed = await env.waitFor(Kinds.VMSnapshot, 'follows', (o: any) => condition(o, 'VMAvailable')?.status === 'False', 'VMAvailable=False');
  t.equal(condition(noticed, 'VMAvailable')?.reason, 'VMDeleted');
  t.ok(await gone(Kinds.VMSnapshot, 'follows'), 'deleted after the grace period');
  t.match(await expiredEvent('follows'), /its VirtualMachine was deleted \(retentionPolicy.deleteOnVMDelete, gracePeriod 2s\)/);
  const keeper = await env.waitFor(Kinds.VMSnapshot, 'keeper', (o: any) => condition(o, 'VMAvailable')?.status === 'False', 'VMAvailable=False');
  t.equal(keeper.status.phase, 'Ready', 'kept');
  t.equal(keeper.status.expiryTime, undefined, 'with no expiry');
  // Deleting the kept record finishes (the VM is gone: nothing to delete on the provider).
  await env.admin.delete(Kinds.VMSnapshot, env.ns, 'keeper');
  t.ok(await gone(Kinds.VMSnapshot, 'keeper'));
});

const childrenOf = async (schedule: string) =>
  (await env.admin.list<any>(Kinds.VMSnapshot, env.ns, { labelSelector: `vmsnapshot.infra.virtrigaud.io/schedule=${schedule}` })).items;
const eventsOf = async (name: string, reason: string) =>
  (await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name},reason=${reason}` })).items.reduce((n: number, e: any) => n + (e.count ?? 1), 0);

t.test('a schedule makes child snapshots, keeps its history limit, suspends, and takes its children along when deleted', async (t) => {
  const id = await runningVM('scheduled');
  await env.admin.create(Kinds.VMSnapshot, snapshot('every2s', 'scheduled', { schedule: { enabled: true, cronSpec: '@every 2s', successfulJobsHistoryLimit: 2 }, snapshotConfig: { description: 'periodic' } }));
  const parent = await env.waitFor(Kinds.VMSnapshot, 'every2s', (o: any) => condition(o, 'Ready')?.reason === 'Scheduled', 'scheduled');
  t.match(condition(parent, 'Ready')?.message, /^next snapshot at \d{4}-\d\d-\d\dT/);
  t.equal(parent.status.snapshotID, undefined, 'the schedule takes no snapshot itself');
  const deadline = Date.now() + 30_000;
  while ((await eventsOf('every2s', 'SuccessfulCreate')) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.ok((await eventsOf('every2s', 'SuccessfulCreate')) >= 4, 'four runs in about eight seconds');
  // Suspended, no new child comes; once the last one is Ready the schedule trims its history to the limit.
  await env.admin.patch(Kinds.VMSnapshot, env.ns, 'every2s', { spec: { schedule: { suspend: true } } }, { type: 'merge' });
  const settled = await env.waitFor(Kinds.VMSnapshot, 'every2s', (o: any) => condition(o, 'Ready')?.reason === 'Suspended', 'suspended');
  t.ok(settled.status.lastScheduleTime, 'lastScheduleTime');
  let kids: any[] = [];
  const trimmedBy = Date.now() + 20_000;
  for (;;) {
    kids = (await childrenOf('every2s')).filter((c) => !c.metadata.deletionTimestamp);
    if ((kids.every((c) => c.status?.phase === 'Ready') && kids.length <= 2) || Date.now() > trimmedBy) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(kids.length, 2, `successfulJobsHistoryLimit (2) Ready children kept (${kids.map((c) => `${c.metadata.name}:${c.status?.phase}`).join(', ')})`);
  t.ok(kids.every((c) => c.status?.phase === 'Ready'), 'both Ready');
  for (const c of kids) {
    t.match(c.metadata.name, /^every2s-\d+$/, 'named after the due time');
    t.match(c.metadata.ownerReferences?.[0], { kind: 'VMSnapshot', name: 'every2s', uid: parent.metadata.uid, controller: true, blockOwnerDeletion: true });
    t.same(c.spec.vmRef, { name: 'scheduled' });
    t.equal(c.spec.snapshotConfig?.description, 'periodic', 'config copied');
    t.equal(c.spec.schedule, undefined, 'a child is no schedule');
  }
  t.ok(providerSnapshots(id).length <= 3, `pruned children's provider snapshots are gone too (${providerSnapshots(id).length} left)`);

  const before = await eventsOf('every2s', 'SuccessfulCreate');
  await new Promise((r) => setTimeout(r, 4_500));
  t.equal(await eventsOf('every2s', 'SuccessfulCreate'), before, 'no run while suspended');

  await env.admin.delete(Kinds.VMSnapshot, env.ns, 'every2s');
  t.ok(await gone(Kinds.VMSnapshot, 'every2s'), 'the schedule is deleted');
  t.same(await childrenOf('every2s'), [], 'after its children');
  t.same(providerSnapshots(id), [], 'and their provider snapshots');
});

t.test('concurrencyPolicy Forbid: a run due while a child is still being taken is skipped', async (t) => {
  await runningVM('slowvm', 'slow');
  let overlap = 0;
  const sample = setInterval(() => {
    void childrenOf('forbid').then((kids) => {
      const active = kids.filter((c) => c.status?.phase !== 'Ready' && c.status?.phase !== 'Failed' && !c.metadata.deletionTimestamp);
      overlap = Math.max(overlap, active.length);
    });
  }, 100);
  t.teardown(() => clearInterval(sample));
  await env.admin.create(Kinds.VMSnapshot, snapshot('forbid', 'slowvm', { schedule: { enabled: true, cronSpec: '@every 1s', concurrencyPolicy: 'Forbid' } }));
  const deadline = Date.now() + 30_000;
  while ((await eventsOf('forbid', 'Skipped')) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.ok((await eventsOf('forbid', 'Skipped')) >= 2, 'runs skipped while a 2.5 s snapshot is in progress');
  t.ok(overlap <= 1, `never two children in progress at once (${overlap})`);
  await env.admin.patch(Kinds.VMSnapshot, env.ns, 'forbid', { spec: { schedule: { suspend: true } } }, { type: 'merge' });
});

t.test('a cronSpec the pattern admits but cron does not is refused, naming the field', async (t) => {
  await env.admin.create(Kinds.VMSnapshot, snapshot('bad-cron', 'scheduled', { schedule: { enabled: true, cronSpec: '61 * * * *' } }));
  const bad = await env.waitFor(Kinds.VMSnapshot, 'bad-cron', (o: any) => condition(o, 'Ready')?.reason === 'InvalidSpec', 'InvalidSpec');
  t.match(condition(bad, 'Ready')?.message, /spec\.schedule\.cronSpec: Invalid value: minute "61": out of range 0-59/);
  t.equal(bad.status.phase, 'Failed');
  t.same(await childrenOf('bad-cron'), []);
});
