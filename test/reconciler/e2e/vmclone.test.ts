/**
 * VMClone end to end on the real API server with the in-memory provider in
 * process: full and linked clones of a running VM into a new VirtualMachine
 * that the VM reconciler then manages; a VM made from a VMImage; a source
 * that appears later; retries; a failed task and a deletion mid-way that
 * leave nothing behind; refusals before any side effect (unsupported
 * sources and fields, linked clones a Provider cannot make, a taken target
 * name); and the trust boundary: no VM in another namespace, no binding to
 * a provider VM named in a tenant-written status, no second clone after a
 * restart. The providers' Clone RPC itself is tested against libvirt,
 * QEMU and vcsim in test/providers/.
 */
import t from 'tap';
import { MemoryProvider, MemoryStore, memoryOptionsFromContext } from '../../../src/providers/memory';
import { ProviderError } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { uidTag } from '../../../src/providers/uid';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { CLONE_ANNOTATIONS, CLONE_FINALIZER } from '../../../src/reconciler/vmclone/controller';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv, type RunningOperator } from '../support/env';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let op: RunningOperator;
// One store per Provider that outlives an operator restart (the provider VMs stay where they are).
const stores = new Map<string, MemoryStore>();
const providers = new Map<string, MemoryProvider>();
const registry = new ProviderRegistry().register('memory', (ctx) => {
  const store = stores.get(ctx.name) ?? new MemoryStore();
  stores.set(ctx.name, store);
  const p = new MemoryProvider({ ...memoryOptionsFromContext(ctx), store });
  providers.set(ctx.name, p);
  return p;
});
const lab = () => providers.get('lab')!;
const providerVms = (name = 'lab') => Object.values(stores.get(name)?.read().vms ?? {});
const clones = (name = 'lab') => providers.get(name)?.events.filter((e) => e.op === 'Clone').length ?? 0;
const start = () => env.start({ registry, vmCloneTiming: { pollMs: 200, waitMs: 500 } });

const vmClone = (name: string, spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'VMClone', metadata: { name, namespace: env.ns }, spec });
const getVm = (name: string) => env.admin.get<any>(Kinds.VirtualMachine, env.ns, name);
const settled = (name: string) => env.waitFor<any>(Kinds.VMClone, name, (c) => c.status?.phase === 'Ready' || c.status?.phase === 'Failed', 'Ready or Failed', 30_000);
const running = (name: string) => env.waitFor<any>(Kinds.VirtualMachine, name, (v) => !!v.status?.id && v.status?.powerState === 'On', 'created and On');

async function reasons(name: string): Promise<string[]> {
  const list = await env.admin.list<any>(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name},involvedObject.kind=VMClone` });
  return list.items.map((e: any) => e.reason);
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  const provider = (name: string, query: string) => ({
    apiVersion: API, kind: 'Provider', metadata: { name, namespace: env.ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: { type: 'libvirt', endpoint: `https://memory.invalid/${name}?${query}`, credentialSecretRef: { name: 'lab-creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '2s' } },
  });
  await env.admin.create(Kinds.Provider, provider('nolinked', 'linkedClones=0'));
  await env.admin.create(Kinds.Provider, provider('slow', 'completeAfterMs=4000'));
  await env.admin.create(Kinds.Provider, provider('sizeless', 'cloneClass=0'));
  await env.admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'big', namespace: env.ns }, spec: { cpu: 4, memory: '8Gi' } });
  op = await start();
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'src', { tags: ['web'] }));
  await running('src');
});

t.test('a full clone of a running VM: a new VirtualMachine, bound, then managed by the VM reconciler', async (t) => {
  const src = await getVm('src');
  await env.admin.create(Kinds.VMClone, vmClone('c-full', {
    source: { vmRef: { name: 'src' } },
    target: { name: 'copy-full', classRef: { name: 'big' }, labels: { team: 'a' }, annotations: { note: 'copy' } },
    customization: { tags: ['copy'] },
  }));
  const c = await settled('c-full');
  t.equal(c.status.phase, 'Ready', c.status.message);
  t.equal(c.status.actualCloneType, 'FullClone');
  t.match(c.status, { targetRef: { name: 'copy-full' }, progress: { overallPercentage: 100, completedDisks: 1, totalDisks: 1 } });
  t.ok(c.status.startTime && c.status.completionTime, 'start and completion times');
  t.match(condition(c, 'Ready'), { status: 'True', reason: 'Completed' });
  t.match(condition(c, 'Cloning'), { status: 'False', reason: 'Completed' });
  t.ok(c.metadata.finalizers.includes(CLONE_FINALIZER), 'finalizer');
  const vm = await env.waitFor<any>(Kinds.VirtualMachine, 'copy-full', (v) => condition(v, 'Ready')?.status === 'True' && v.status?.currentResources?.cpu === 4, 'Ready with the class override applied');
  t.equal(vm.status.id, c.status.targetVMID, 'the VM is bound to the clone');
  t.match(vm.metadata.annotations, { [CLONE_ANNOTATIONS.clonedFrom]: 'VirtualMachine/src', [CLONE_ANNOTATIONS.clone]: 'c-full', note: 'copy' });
  t.match(vm.metadata.labels, { team: 'a', 'virtrigaud.io/adopted': 'true' });
  t.same(vm.spec.tags, ['web', 'copy'], 'source tags and customization.tags');
  t.equal(vm.spec.powerState, 'Off', 'options.powerOn false: the copy stays off');
  t.equal(vm.status.powerState, 'Off');
  const pvm = providerVms().find((v) => v.id === c.status.targetVMID)!;
  t.match(pvm, { clonedFrom: src.status.id, cloneType: 'full', uid: vm.metadata.uid, cpu: 4, memoryMiB: 8192 }, 'the provider VM carries the new VM\'s uid and class');
  t.equal((await getVm('src')).status.id, src.status.id, 'source untouched');
  t.equal(lab().events.filter((e) => e.op === 'Create').length, 1, 'the VM reconciler never created the copy (only the source)');
  t.ok((await reasons('c-full')).includes('Completed'), 'Completed Event');
  // Deleting a finished VMClone leaves its VM.
  await env.admin.delete(Kinds.VMClone, env.ns, 'c-full');
  await env.waitFor(Kinds.VMClone, 'c-full', () => false, 'gone', 10_000).catch(() => undefined);
  t.equal(await env.admin.get(Kinds.VMClone, env.ns, 'c-full'), undefined, 'VMClone deleted');
  t.ok(await getVm('copy-full'), 'its VM stays');
});

t.test('a linked clone with powerOn starts', async (t) => {
  await env.admin.create(Kinds.VMClone, vmClone('c-linked', { source: { vmRef: { name: 'src' } }, target: { name: 'copy-linked' }, options: { type: 'LinkedClone', powerOn: true } }));
  const c = await settled('c-linked');
  t.equal(c.status.phase, 'Ready', c.status.message);
  t.equal(c.status.actualCloneType, 'LinkedClone');
  const vm = await running('copy-linked');
  t.equal(providerVms().find((v) => v.id === vm.status.id)?.cloneType, 'linked');
});

t.test('refused before anything is made', async (t) => {
  const before = clones();
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['r-snap', { source: { snapshotRef: { name: 'snap' } }, target: { name: 'x-snap' } }, 'UnsupportedSource', /spec\.source\.snapshotRef: Unsupported value/],
    ['r-tmpl', { source: { templateRef: { name: 'golden' } }, target: { name: 'x-tmpl' } }, 'UnsupportedSource', /spec\.source\.templateRef: Unsupported value: templates are VMImages here/],
    ['r-host', { source: { vmRef: { name: 'src' } }, target: { name: 'x-host' }, customization: { hostname: 'db1', sysprep: { enabled: true } } }, 'Unsupported', /spec\.customization\.hostname: Unsupported value.*spec\.customization\.sysprep: Unsupported value/],
    ['r-udata', { source: { vmRef: { name: 'src' } }, target: { name: 'x-udata' }, customization: { userData: { cloudInit: { inline: '#cloud-config' } } } }, 'Unsupported', /spec\.customization\.userData: Unsupported value: a clone boots a copy/],
    ['r-disks', { source: { vmRef: { name: 'src' } }, target: { name: 'x-disks', disks: [{ name: 'data', sizeGiB: 5 }] } }, 'Unsupported', /spec\.target\.disks: Unsupported value/],
    ['r-perf', { source: { vmRef: { name: 'src' } }, target: { name: 'x-perf' }, options: { performance: { maxIOPS: 500 } } }, 'Unsupported', /spec\.options\.performance: Unsupported value/],
    ['r-prov', { source: { vmRef: { name: 'src' } }, target: { name: 'x-prov', providerRef: { name: 'slow' } } }, 'Unsupported', /spec\.target\.providerRef: Unsupported value: ".*\/slow": a clone stays on its source's Provider .* VMMigration/],
    ['r-img', { source: { imageRef: { name: 'ubuntu' } }, target: { name: 'x-img' } }, 'Unsupported', /spec\.target\.classRef: Required value.*spec\.target\.providerRef: Required value/],
  ];
  for (const [name, spec] of cases) await env.admin.create(Kinds.VMClone, vmClone(name, spec));
  for (const [name, , reason, message] of cases) {
    const c = await settled(name);
    t.equal(c.status.phase, 'Failed', `${name} Failed`);
    t.match(condition(c, 'Ready'), { status: 'False', reason, message }, `${name}: Ready False ${reason}`);
    t.match(condition(c, 'Failed'), { status: 'True', reason });
    t.equal(await getVm(`x-${name.slice(2)}`), undefined, `${name}: no VirtualMachine made`);
  }
  t.equal(clones(), before, 'no Clone call');
  t.ok((await reasons('r-snap')).includes('UnsupportedSource'), 'a Warning Event names the reason');
});

t.test('a Provider whose Clone ignores class_json: the copy is resized to its class by the VM reconciler', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'src-sl', { providerRef: { name: 'sizeless' } }));
  const src = await running('src-sl');
  await env.admin.create(Kinds.VMClone, vmClone('c-sl', { source: { vmRef: { name: 'src-sl' } }, target: { name: 'copy-sl', classRef: { name: 'big' } } }));
  const c = await settled('c-sl');
  t.equal(c.status.phase, 'Ready', c.status.message);
  const vm = await env.waitFor<any>(Kinds.VirtualMachine, 'copy-sl', (v) => v.status?.currentResources?.cpu === 4 && condition(v, 'Reconfiguring')?.status === 'False', 'resized to VMClass big');
  t.same(vm.status.currentResources, { cpu: 4, memoryMiB: 8192 }, 'the class\'s size');
  const pvm = providerVms('sizeless').find((v) => v.id === c.status.targetVMID)!;
  t.match(pvm, { cpu: 4, memoryMiB: 8192, uid: vm.metadata.uid }, 'the provider VM was reconfigured');
  t.equal(providers.get('sizeless')!.events.filter((e) => e.op === 'Reconfigure' && e.target === c.status.targetVMID).length, 1, 'one Reconfigure of the copy');
  t.match(providerVms('sizeless').find((v) => v.id === src.status.id), { cpu: 2 }, 'the source keeps its size');
});

t.test('a target VMClass that appears later: the clone waits for it, then copies at its size', async (t) => {
  await env.admin.create(Kinds.VMClone, vmClone('c-cls', { source: { vmRef: { name: 'src' } }, target: { name: 'copy-cls', classRef: { name: 'later' } } }));
  const waiting = await env.waitFor<any>(Kinds.VMClone, 'c-cls', (c) => condition(c, 'Ready')?.reason === 'WaitingForDependencies', 'waiting for the class');
  t.match(condition(waiting, 'Ready'), { status: 'False', message: /VMClass ".*\/later" \(spec\.target\.classRef\) not found/ });
  t.equal(await getVm('copy-cls'), undefined, 'no VM made while the class is missing');
  const before = clones();
  await env.admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'later', namespace: env.ns }, spec: { cpu: 3, memory: '3Gi' } });
  const c = await settled('c-cls');
  t.equal(c.status.phase, 'Ready', c.status.message);
  t.equal(clones() - before, 1, 'one Clone call, once the class is there');
  t.match(providerVms().find((v) => v.id === c.status.targetVMID), { cpu: 3, memoryMiB: 3072 }, 'the copy has the class\'s size');
});

t.test('a linked clone on a Provider without linked clones is refused', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'src-nl', { providerRef: { name: 'nolinked' } }));
  await running('src-nl');
  await env.waitFor<any>(Kinds.Provider, 'nolinked', (p) => p.status?.reportedCapabilities?.supportsLinkedClones === false, 'capabilities reported');
  await env.admin.create(Kinds.VMClone, vmClone('c-nl', { source: { vmRef: { name: 'src-nl' } }, target: { name: 'copy-nl' }, options: { type: 'LinkedClone' } }));
  const c = await settled('c-nl');
  t.match(condition(c, 'Ready'), { status: 'False', reason: 'LinkedCloneUnsupported', message: /does not support linked clones/ });
  t.equal(await getVm('copy-nl'), undefined, 'no VM made');
  t.equal(clones('nolinked'), 0, 'no Clone call');
});

t.test('a target name that is taken: the VM there is left alone', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'taken'));
  const taken = await running('taken');
  await env.admin.create(Kinds.VMClone, vmClone('c-taken', { source: { vmRef: { name: 'src' } }, target: { name: 'taken' } }));
  const c = await settled('c-taken');
  t.match(condition(c, 'Ready'), { status: 'False', reason: 'TargetExists', message: /exists and was not made by this VMClone/ });
  const after = await getVm('taken');
  t.equal(after.status.id, taken.status.id, 'still bound to its own VM');
  t.equal(after.metadata.annotations?.[CLONE_ANNOTATIONS.clone], undefined, 'not annotated');
  // Deleting the failed clone does not touch it either.
  await env.admin.delete(Kinds.VMClone, env.ns, 'c-taken');
  await new Promise((r) => setTimeout(r, 1_000));
  t.ok(await getVm('taken'), 'the VM is still there');
  t.ok(providerVms().some((v) => v.id === taken.status.id), 'and so is its provider VM');
});

t.test('attack: a VMClone cannot make a VM in another namespace', async (t) => {
  const other = `${env.ns}-victim`;
  await env.admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
  t.teardown(() => env.admin.delete(CoreResources.namespaces, undefined, other).catch(() => undefined));
  const before = clones();
  await env.admin.create(Kinds.VMClone, vmClone('c-cross', { source: { vmRef: { name: 'src' } }, target: { name: 'planted', namespace: other } }));
  await env.admin.create(Kinds.VMClone, vmClone('c-cross-img', { source: { imageRef: { name: 'ubuntu', namespace: other } }, target: { name: 'planted2', classRef: { name: 'small' }, providerRef: { name: 'lab' } } }));
  for (const n of ['c-cross', 'c-cross-img']) {
    const c = await settled(n);
    t.match(condition(c, 'Ready'), { status: 'False', reason: 'CrossNamespace', message: /Forbidden/ }, `${n}: CrossNamespace`);
  }
  t.equal(await env.admin.get(Kinds.VirtualMachine, other, 'planted'), undefined, 'nothing in the other namespace');
  t.equal(await getVm('planted'), undefined, 'nor in its own under that name');
  t.equal(await getVm('planted2'), undefined);
  t.equal(clones(), before, 'no Clone call');
});

t.test('from a VMImage: a new VM created by the VM reconciler, with the clone\'s user data', async (t) => {
  await env.admin.create(Kinds.VMClone, vmClone('c-img', {
    source: { imageRef: { name: 'ubuntu' } },
    target: { name: 'from-image', classRef: { name: 'small' }, providerRef: { name: 'lab' }, disks: [{ name: 'data', sizeGiB: 3 }] },
    customization: { userData: { cloudInit: { inline: '#cloud-config\nhostname: from-image\n' } } },
    options: { powerOn: true },
  }));
  const c = await settled('c-img');
  t.equal(c.status.phase, 'Ready', c.status.message);
  const vm = await running('from-image');
  t.equal(c.status.targetVMID, vm.status.id);
  t.same(vm.spec.imageRef, { name: 'ubuntu' });
  t.equal(vm.metadata.labels?.['virtrigaud.io/adopted'], undefined, 'created, not adopted');
  t.equal(vm.metadata.annotations[CLONE_ANNOTATIONS.clonedFrom], 'VMImage/ubuntu');
  const pvm = providerVms().find((v) => v.id === vm.status.id)!;
  t.match(pvm, { uid: vm.metadata.uid, userDataFormat: 'cloud-init' });
  t.match(vm.spec.userData, { cloudInit: { inline: /hostname: from-image/ } }, 'user data on the new VM');
  t.equal(pvm.disks.length, 2, 'root disk and target.disks');
});

t.test('a source that appears later; a retried provider error', async (t) => {
  lab().faults.failNext('Clone', new ProviderError('Retryable', 'Clone: datastore busy', 'Clone'));
  await env.admin.create(Kinds.VMClone, vmClone('c-late', { source: { vmRef: { name: 'late' } }, target: { name: 'copy-late' }, options: { retryPolicy: { retryDelay: '1s', backoffMultiplier: 1 } } }));
  const pending = await env.waitFor<any>(Kinds.VMClone, 'c-late', (c) => condition(c, 'Ready')?.reason === 'SourceNotFound', 'SourceNotFound');
  t.equal(pending.status.phase, 'Pending');
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'late'));
  const c = await settled('c-late');
  t.equal(c.status.phase, 'Ready', c.status.message);
  t.equal(c.status.retryCount, 1, 'one retry');
  t.ok(c.status.lastRetryTime, 'lastRetryTime');
  t.equal(providerVms().filter((v) => v.name === 'copy-late').length, 1, 'one copy');
});

t.test('a clone task that fails leaves nothing behind', async (t) => {
  lab().faults.failTask('Clone', 'disk copy failed: no space left');
  const n = providerVms().length;
  await env.admin.create(Kinds.VMClone, vmClone('c-fail', { source: { vmRef: { name: 'src' } }, target: { name: 'copy-fail' } }));
  const c = await settled('c-fail');
  t.match(condition(c, 'Ready'), { status: 'False', reason: 'ProviderError', message: /no space left/ });
  await env.waitFor(Kinds.VirtualMachine, 'copy-fail', () => false, 'gone', 5_000).catch(() => undefined);
  t.equal(await getVm('copy-fail'), undefined, 'the VirtualMachine it made is removed');
  t.equal(providerVms().length, n, 'no provider VM left');
});

t.test('deleting a VMClone mid-way removes what it made, never the source', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'src-slow', { providerRef: { name: 'slow' } }));
  await env.waitFor<any>(Kinds.VirtualMachine, 'src-slow', (v) => !!v.status?.id, 'created', 30_000);
  const srcId = (await getVm('src-slow')).status.id;
  await env.admin.create(Kinds.VMClone, vmClone('c-mid', { source: { vmRef: { name: 'src-slow' } }, target: { name: 'copy-mid' } }));
  const c = await env.waitFor<any>(Kinds.VMClone, 'c-mid', (x) => x.status?.phase === 'Cloning' && !!x.status.targetVMID, 'Cloning with an id');
  t.ok(c.status.taskRef, 'a task is outstanding');
  await env.admin.delete(Kinds.VMClone, env.ns, 'c-mid');
  await env.waitFor(Kinds.VMClone, 'c-mid', () => false, 'gone', 15_000).catch(() => undefined);
  t.equal(await env.admin.get(Kinds.VMClone, env.ns, 'c-mid'), undefined, 'VMClone gone');
  await env.waitFor(Kinds.VirtualMachine, 'copy-mid', () => false, 'gone', 10_000).catch(() => undefined);
  t.equal(await getVm('copy-mid'), undefined, 'its VirtualMachine removed');
  t.notOk(providerVms('slow').some((v) => v.name === 'copy-mid'), 'its provider VM removed');
  t.ok(providerVms('slow').some((v) => v.id === srcId), 'the source VM is kept');
  t.ok(await getVm('src-slow'), 'and its VirtualMachine');
});

t.test('attack: a provider VM named in a tenant-written status is never bound or deleted', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'victim'));
  const victim = await running('victim');
  await op.stop();
  // The tenant plants a target of its own and a status that names the victim's provider VM.
  await env.admin.create(Kinds.VirtualMachine, { ...vmObject(env.ns, 'bait'), metadata: { name: 'bait', namespace: env.ns, labels: { 'virtrigaud.io/adopted': 'true' }, annotations: { [CLONE_ANNOTATIONS.clone]: 'c-evil' } } });
  const evil = await env.admin.create<any>(Kinds.VMClone, vmClone('c-evil', { source: { vmRef: { name: 'src' } }, target: { name: 'bait' } }));
  await env.admin.updateStatus(Kinds.VMClone, { ...evil, status: { phase: 'Cloning', targetVMID: victim.status.id, targetRef: { name: 'bait' } } });
  op = await start();
  const c = await settled('c-evil');
  t.match(condition(c, 'Ready'), { status: 'False', reason: 'IdentityMismatch', message: /belongs to another VirtualMachine/ });
  const bait = await getVm('bait');
  t.notOk(bait?.status?.id, 'the bait VM is not bound to the victim');
  t.ok(providerVms().some((v) => v.id === victim.status.id), 'the victim\'s provider VM is still there');
  t.equal((await getVm('victim')).status.id, victim.status.id, 'and still the victim\'s');
  await env.admin.delete(Kinds.VMClone, env.ns, 'c-evil');
  await new Promise((r) => setTimeout(r, 1_000));
  t.ok(providerVms().some((v) => v.id === victim.status.id), 'deleting the VMClone does not delete it either');
});

t.test('after a crash between the Clone call and recording its id: the copy is found, not made again', async (t) => {
  await op.stop();
  // What a reconciler that died right after the Clone RPC left: the target VM, the intent, the provider copy.
  const target = await env.admin.create<any>(Kinds.VirtualMachine, { ...vmObject(env.ns, 'copy-crash', { powerState: 'Off' }), metadata: { name: 'copy-crash', namespace: env.ns, labels: { 'virtrigaud.io/adopted': 'true' }, annotations: { [CLONE_ANNOTATIONS.clone]: 'c-crash' } } });
  const srcId = (await getVm('src')).status.id;
  // The stopped operator closed its provider connection: a provider of our own on the same store.
  const made = await new MemoryProvider({ store: stores.get('lab')! }).clone({ sourceVmId: srcId, targetName: 'copy-crash', linked: false, classJson: '', placementJson: '', customizeJson: JSON.stringify({ tags: [uidTag(target.metadata.uid)] }) });
  const c0 = await env.admin.create<any>(Kinds.VMClone, vmClone('c-crash', { source: { vmRef: { name: 'src' } }, target: { name: 'copy-crash' } }));
  await env.admin.updateStatus(Kinds.VMClone, { ...c0, status: { phase: 'Cloning', targetRef: { name: 'copy-crash' }, startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } });
  op = await start();
  const c = await settled('c-crash');
  t.equal(c.status.phase, 'Ready', c.status.message);
  t.equal(c.status.targetVMID, made.targetVmId, 'the copy made before the crash');
  t.equal(providerVms().filter((v) => v.name === 'copy-crash').length, 1, 'one copy');
  t.equal(clones(), 0, 'the restarted reconciler made no Clone call');
  t.ok((await reasons('c-crash')).includes('Recovered'), 'Recovered Event');
  t.equal((await getVm('copy-crash')).status.id, made.targetVmId, 'bound');
});
