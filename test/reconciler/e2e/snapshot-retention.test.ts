/**
 * VMSnapshot retentionPolicy end to end on the real API server, with the
 * in-memory provider in process: maxAge, maxCount, deleteOnVMDelete with
 * its gracePeriod, and pinned snapshots that nothing removes. Each removal
 * shows as phase Expired and an Expired Event, then the VMSnapshot and the
 * provider's snapshot are gone.
 */
import t from 'tap';
import { MemoryProvider } from '../../../src/providers/memory';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

let env: OperatorEnv;
let memory: MemoryProvider;

const snapshot = (name: string, vm: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name, namespace: env.ns }, spec: { vmRef: { name: vm }, ...spec },
});
const providerSnapshots = (vmId: string) => (memory.store.read().vms[vmId]?.snapshots ?? []).map((s) => s.id);

async function runningVM(name: string): Promise<string> {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, name));
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
  const registry = new ProviderRegistry().register('memory', (ctx) => (memory = new MemoryProvider({ credentials: ctx.credentials })));
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
