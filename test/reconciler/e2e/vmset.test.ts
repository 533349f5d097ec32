/**
 * VMSet end to end on the real API server: the reconciler runs as the
 * install's ServiceAccount, members run on the in-memory provider in
 * process. Scale with `kubectl scale` and the scale subresource, ordered
 * creation, rolling updates watched member by member, partition, in-place
 * reconfiguration, revisions and rollback, Recreate and OnDelete, refusals,
 * deletion.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources, Informer } from '../../../src/reconciler/runtime';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

const run = promisify(execFile);
let env: OperatorEnv;

const API = 'infra.virtrigaud.io/v1beta1';

function vmSet(name: string, spec: Record<string, unknown> = {}, templateSpec: Record<string, unknown> = {}): any {
  return {
    apiVersion: API,
    kind: 'VMSet',
    metadata: { name, namespace: env.ns },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'web' } },
        spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On', ...templateSpec },
      },
      ...spec,
    },
  };
}

const ready = (vm: any) => condition(vm, 'Ready')?.status === 'True' && vm.status?.observedGeneration === vm.metadata?.generation && !vm.metadata?.deletionTimestamp;

async function members(set: string): Promise<any[]> {
  const list = await env.admin.list(Kinds.VirtualMachine, env.ns, { labelSelector: `app=${set}` });
  return list.items.sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
}

/** Waits until the set reports `n` ready members at its update revision, all done. */
async function settled(name: string, n: number, timeoutMs = 60_000): Promise<any> {
  return env.waitFor(Kinds.VMSet, name, (s: any) =>
    s.status?.observedGeneration === s.metadata.generation && s.status?.replicas === n && s.status?.readyReplicas === n && s.status?.updatedReplicas === n &&
    s.status?.currentRevision === s.status?.updateRevision && condition(s, 'Ready')?.status === 'True', `${n} ready members at the update revision`, timeoutMs);
}

async function patchSet(name: string, body: unknown): Promise<void> {
  await env.admin.patch(Kinds.VMSet, env.ns, name, body, { type: 'merge' });
}

/** Watches the namespace's VMs (an informer on the admin client) and calls `sample` on every change. */
async function watchVMs(t: { teardown(fn: () => void): void }, sample: (all: any[]) => void): Promise<void> {
  const ctl = new AbortController();
  const inf = new Informer<any>(env.admin, Kinds.VirtualMachine, { namespace: env.ns });
  // The initial list arrives one add at a time: sample only from the synced store on.
  let synced = false;
  const fire = () => synced && sample(inf.list());
  inf.on('add', fire);
  inf.on('update', fire);
  inf.on('delete', fire);
  inf.start(ctl.signal);
  await inf.waitForSync();
  synced = true;
  fire();
  t.teardown(() => ctl.abort());
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  await env.admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'debian', namespace: env.ns }, spec: { source: { libvirt: { path: '/var/lib/libvirt/images/debian.qcow2', format: 'qcow2' } } } });
  await env.admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'large', namespace: env.ns }, spec: { cpu: 4, memory: '8Gi' } });
  await env.start();
});

t.test('OrderedReady: members are made one by one, each after the one before is ready', async (t) => {
  const firstSeen: string[] = [];
  const violations: string[] = [];
  await watchVMs(t, (all) => {
    for (const vm of all.filter((v) => v.metadata.labels?.app === 'web')) {
      const name = vm.metadata.name as string;
      if (firstSeen.includes(name)) continue;
      firstSeen.push(name);
      const ord = Number(name.split('-').pop());
      const before = all.find((v) => v.metadata.name === `web-${ord - 1}`);
      if (ord > 0 && !(before && ready(before))) violations.push(`${name} appeared while web-${ord - 1} was not ready`);
    }
  });
  await env.admin.create(Kinds.VMSet, vmSet('web'));
  const set = await settled('web', 3);
  t.same(firstSeen, ['web-0', 'web-1', 'web-2'], 'created in ordinal order');
  t.same(violations, [], 'none created before its predecessor was ready');
  const vms = await members('web');
  t.same(vms.map((v) => v.metadata.name), ['web-0', 'web-1', 'web-2']);
  for (const vm of vms) {
    const ref = vm.metadata.ownerReferences?.[0];
    t.match(ref, { kind: 'VMSet', name: 'web', uid: set.metadata.uid, controller: true, blockOwnerDeletion: true }, `${vm.metadata.name} is owned by the set`);
    t.equal(vm.metadata.labels['controller-revision-hash'], set.status.updateRevision, `${vm.metadata.name} carries its revision`);
    t.equal(vm.metadata.labels.tier, 'web', 'template labels');
    t.equal(vm.spec.imageRef.name, 'ubuntu');
  }
  t.equal(set.status.selector, 'app=web', 'status.selector for the scale subresource');
  t.equal(set.status.availableReplicas, 3);
  t.equal(set.status.currentReplicas, 3);
  t.equal(set.status.vmStatus.length, 3);
  t.match(set.status.vmStatus[0], { name: 'web-0', ready: true, phase: 'Running', revision: set.status.updateRevision });
  t.equal(condition(set, 'Ready')?.reason, 'AllReplicasReady');
  t.equal(condition(set, 'ReplicaFailure')?.status, 'False');
  const revs = await env.admin.list(CoreResources.controllerRevisions, env.ns, { labelSelector: 'vmset.infra.virtrigaud.io/name=web' });
  t.equal(revs.items.length, 1, 'one ControllerRevision');
  t.equal(revs.items[0].metadata.name, set.status.updateRevision);
  t.equal(revs.items[0].revision, 1);
  t.same(revs.items[0].data.template.spec.imageRef, { name: 'ubuntu' }, 'the revision holds the template');
  const events = (await env.admin.list(CoreResources.events, env.ns, { fieldSelector: 'involvedObject.kind=VMSet,involvedObject.name=web' })).items;
  t.equal(events.filter((e: any) => e.reason === 'SuccessfulCreate').length, 3, 'a SuccessfulCreate Event per member');
});

t.test('kubectl scale 3 → 5 → 2 → 0 → 3, and kubectl get --selector from status.selector', async (t) => {
  const kubectl = (...args: string[]) => run(env.cp.binaries.kubectl, ['--kubeconfig', env.cp.kubeconfigPath, '-n', env.ns, ...args]);
  await kubectl('scale', 'vmset/web', '--replicas=5');
  await settled('web', 5);
  t.same((await members('web')).map((v) => v.metadata.name), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4'], 'scaled up to 5');
  const scale = JSON.parse((await kubectl('get', '--raw', `/apis/infra.virtrigaud.io/v1beta1/namespaces/${env.ns}/vmsets/web/scale`)).stdout);
  t.match(scale, { kind: 'Scale', spec: { replicas: 5 }, status: { replicas: 5, selector: 'app=web' } }, 'the scale subresource reads spec, status and selector');
  const sel = (await kubectl('get', 'vm', '--selector', scale.status.selector, '-o', 'name')).stdout.trim().split('\n');
  t.equal(sel.length, 5, 'kubectl get --selector <status.selector> lists the members');

  const seenDeleting: string[] = [];
  await watchVMs(t, (all) => {
    for (const v of all) if (v.metadata.deletionTimestamp && !seenDeleting.includes(v.metadata.name)) seenDeleting.push(v.metadata.name);
  });
  await kubectl('scale', 'vmset/web', '--replicas=2');
  await settled('web', 2);
  t.same((await members('web')).map((v) => v.metadata.name), ['web-0', 'web-1'], 'the highest ordinals went');
  t.same(seenDeleting.filter((n) => n.startsWith('web-')), ['web-4', 'web-3', 'web-2'], 'deleted from the top, one at a time (OrderedReady)');

  // An HPA-style client writes the scale subresource directly.
  await env.admin.patch({ ...Kinds.VMSet }, env.ns, 'web', { spec: { replicas: 0 } }, { type: 'merge' });
  const zero = await env.waitFor(Kinds.VMSet, 'web', (s: any) => s.status?.replicas === 0 && s.status?.observedGeneration === s.metadata.generation, 'no members');
  t.equal(condition(zero, 'Ready')?.status, 'True', 'zero of zero is ready');
  t.same(await members('web'), []);
  await kubectl('scale', 'vmset/web', '--replicas=3');
  await settled('web', 3);
  const out = (await kubectl('get', 'vmset', 'web')).stdout;
  t.match(out, /NAME\s+DESIRED\s+CURRENT\s+READY\s+UPDATED\s+AGE/, 'printer columns');
  t.match(out, /web\s+3\s+3\s+3\s+3\s+/, 'printer columns filled');
});

t.test('RollingUpdate with maxUnavailable 1 never has more than one member unavailable (sampled from a watch)', async (t) => {
  const before = await settled('web', 3);
  const uids = new Map((await members('web')).map((v) => [v.metadata.name, v.metadata.uid]));
  let worst = 0;
  let worstState = '';
  const samples: number[] = [];
  await watchVMs(t, (all) => {
    const live = ['web-0', 'web-1', 'web-2'].map((n) => all.find((v) => v.metadata.name === n));
    const unavailable = live.filter((v) => !v || !ready(v)).length;
    samples.push(unavailable);
    if (unavailable > worst) worstState = live.map((v) => (v ? `${v.metadata.name}:${v.metadata.uid.slice(0, 4)}:${v.status?.phase}:${condition(v, 'Ready')?.reason}:${v.status?.observedGeneration}/${v.metadata.generation}:${v.metadata.deletionTimestamp ? 'del' : ''}` : 'missing')).join(' ');
    worst = Math.max(worst, unavailable);
  });
  await patchSet('web', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } }, template: { spec: { imageRef: { name: 'debian' } } } } });
  const after = await settled('web', 3);
  t.not(after.status.updateRevision, before.status.updateRevision, 'a new revision');
  t.ok(samples.length > 6, `${samples.length} samples`);
  t.equal(worst, 1, `at most one member unavailable at any time (worst: ${worstState})`);
  const vms = await members('web');
  for (const vm of vms) {
    t.equal(vm.spec.imageRef.name, 'debian', `${vm.metadata.name} boots the new image`);
    t.not(vm.metadata.uid, uids.get(vm.metadata.name), `${vm.metadata.name} was replaced (an image change cannot be made in place)`);
  }
  t.equal(after.status.updateStatus?.phase, 'Completed');
  t.same(after.status.updateStatus?.updatedVMs, ['web-0', 'web-1', 'web-2']);
  t.ok(after.status.updateStatus?.startTime && after.status.updateStatus?.completionTime, 'start and completion times');
});

t.test('partition: only ordinals at or above it take the update; lowering it finishes the rollout', async (t) => {
  const before = await settled('web', 3);
  await patchSet('web', { spec: { updateStrategy: { rollingUpdate: { partition: 2 } }, template: { spec: { imageRef: { name: 'ubuntu' } } } } });
  const paused = await env.waitFor(Kinds.VMSet, 'web', (s: any) => s.status?.updateStatus?.phase === 'Paused' && s.status?.updatedReplicas === 1 && s.status?.readyReplicas === 3, 'paused at the partition');
  const vms = await members('web');
  t.same(vms.map((v) => v.spec.imageRef.name), ['debian', 'debian', 'ubuntu'], 'only web-2 updated');
  t.equal(paused.status.currentRevision, before.status.updateRevision, 'current revision stays');
  t.same(paused.status.updateStatus.pendingVMs, ['web-0', 'web-1']);
  t.match(condition(paused, 'Progressing'), { status: 'False', reason: 'UpdatePaused' });
  // Going back to ubuntu is a rollback: the first revision is found again and renumbered.
  const revs = (await env.admin.list(CoreResources.controllerRevisions, env.ns, { labelSelector: 'vmset.infra.virtrigaud.io/name=web' })).items;
  const ubuntuRev = revs.find((r: any) => r.data.template.spec.imageRef.name === 'ubuntu');
  t.equal(paused.status.updateRevision, ubuntuRev?.metadata.name, 'the ubuntu template has its old revision name again');
  t.equal(ubuntuRev?.revision, Math.max(...revs.map((r: any) => r.revision)), 'renumbered as the newest revision');
  await patchSet('web', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
  const done = await settled('web', 3);
  t.same((await members('web')).map((v) => v.spec.imageRef.name), ['ubuntu', 'ubuntu', 'ubuntu']);
  t.equal(done.status.currentRevision, ubuntuRev?.metadata.name);
});

t.test('a template change of resources only reconfigures members in place', async (t) => {
  await settled('web', 3);
  const uids = (await members('web')).map((v) => v.metadata.uid);
  await patchSet('web', { spec: { template: { spec: { classRef: { name: 'large' } } } } });
  const done = await settled('web', 3);
  const vms = await members('web');
  t.same(vms.map((v) => v.metadata.uid), uids, 'same VMs (not replaced)');
  for (const vm of vms) {
    t.equal(vm.spec.classRef.name, 'large');
    t.equal(vm.metadata.labels['controller-revision-hash'], done.status.updateRevision);
    t.same(vm.status.currentResources, { cpu: 4, memoryMiB: 8192 }, `${vm.metadata.name} reconfigured`);
  }
});

t.test('Parallel + Recreate: every old member goes before any new one is made', async (t) => {
  await env.admin.create(Kinds.VMSet, vmSet('batch', { replicas: 3, updateStrategy: { type: 'Recreate', rollingUpdate: { podManagementPolicy: 'Parallel' } } }));
  await settled('batch', 3);
  const events: string[] = [];
  await watchVMs(t, (all) => {
    const b = all.filter((v) => v.metadata.labels?.app === 'batch');
    const oldAlive = b.filter((v) => v.spec.imageRef.name === 'ubuntu').length;
    const fresh = b.filter((v) => v.spec.imageRef.name === 'debian').length;
    if (oldAlive && fresh) events.push(`old ${oldAlive} and new ${fresh} at once`);
  });
  await patchSet('batch', { spec: { template: { spec: { imageRef: { name: 'debian' } } } } });
  await settled('batch', 3);
  t.same(events, [], 'never old and new members at the same time');
  t.same((await members('batch')).map((v) => v.spec.imageRef.name), ['debian', 'debian', 'debian']);
});

t.test('OnDelete: members take the update only when deleted', async (t) => {
  await env.admin.create(Kinds.VMSet, vmSet('manual', { replicas: 2, updateStrategy: { type: 'OnDelete' } }));
  await settled('manual', 2);
  await patchSet('manual', { spec: { template: { spec: { imageRef: { name: 'debian' } } } } });
  const pending = await env.waitFor(Kinds.VMSet, 'manual', (s: any) => s.status?.observedGeneration === s.metadata.generation && s.status?.updateStatus?.phase === 'Pending', 'update pending');
  t.equal(pending.status.updatedReplicas, 0, 'nothing replaced by itself');
  t.match(condition(pending, 'Progressing'), { status: 'False', reason: 'UpdatePaused' });
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'manual-1');
  await env.waitFor(Kinds.VMSet, 'manual', (s: any) => s.status?.updatedReplicas === 1 && s.status?.readyReplicas === 2, 'manual-1 recreated at the update revision');
  t.same((await members('manual')).map((v) => v.spec.imageRef.name), ['ubuntu', 'debian']);
});

t.test('refusals: a selector that does not match the template, a name taken by another VM', async (t) => {
  const bad = vmSet('odd');
  bad.spec.selector = { matchLabels: { app: 'other' } };
  await env.admin.create(Kinds.VMSet, bad);
  const odd = await env.waitFor(Kinds.VMSet, 'odd', (s: any) => condition(s, 'Ready')?.reason === 'InvalidSelector', 'InvalidSelector');
  t.match(condition(odd, 'Ready')?.message, /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
  t.same(await members('odd'), [], 'no member made');

  await env.admin.create(Kinds.VirtualMachine, { ...vmObject(env.ns, 'taken-0'), metadata: { name: 'taken-0', namespace: env.ns, labels: { app: 'someone-else' } } });
  await env.admin.create(Kinds.VMSet, vmSet('taken', { replicas: 1 }));
  const taken = await env.waitFor(Kinds.VMSet, 'taken', (s: any) => condition(s, 'ReplicaFailure')?.status === 'True', 'ReplicaFailure');
  t.match(condition(taken, 'ReplicaFailure')?.message, /taken-0 exists and is not controlled by this VMSet/);
  const vm = await env.admin.get(Kinds.VirtualMachine, env.ns, 'taken-0');
  t.equal(vm.metadata.labels.app, 'someone-else', 'the other VM is left alone');
  t.equal(vm.metadata.ownerReferences, undefined, 'and not adopted');
});

t.test('deleting a VMSet deletes its members first; --cascade=orphan keeps them', async (t) => {
  await env.admin.delete(Kinds.VMSet, env.ns, 'batch');
  const deadline = Date.now() + 60_000;
  while ((await env.admin.get(Kinds.VMSet, env.ns, 'batch')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.equal(await env.admin.get(Kinds.VMSet, env.ns, 'batch'), undefined, 'the set is gone');
  t.same(await members('batch'), [], 'after its members');
  // Orphaning: the API server adds the `orphan` finalizer, which the garbage collector (not part of this test control
  // plane) removes once it has dropped the members' owner references. The VMSet controller only has to step aside.
  await env.admin.delete(Kinds.VMSet, env.ns, 'manual', { propagationPolicy: 'Orphan' });
  const orphaning = await env.waitFor(Kinds.VMSet, 'manual', (s: any) => !s.metadata.finalizers?.includes('vmset.infra.virtrigaud.io/finalizer'), 'our finalizer removed');
  t.same(orphaning.metadata.finalizers, ['orphan'], 'only the garbage collector\'s finalizer is left');
  await new Promise((r) => setTimeout(r, 1_000));
  const kept = await members('manual');
  t.equal(kept.length, 2, 'its members are kept');
  t.ok(kept.every((v) => !v.metadata.deletionTimestamp), 'and not being deleted');
});
