/**
 * The VMImage prepare flow end to end on the real API server, with the
 * in-memory provider in process: one ImagePrepare per Provider shared by
 * every VM that uses the image; VMs Pending (WaitingForImage) until their
 * Provider's entry is Ready; prepare.onMissing Wait (until an outside
 * preparer provides the image) and Fail; prepare.retries with a failing
 * provider, then a spec change that prepares again; prepare.timeout of a
 * task; a Provider without ImagePrepare (Deferred: the image is prepared
 * at create). Which Providers an image is prepared on (the namespace
 * rules) is tested in test/reconciler/vmimage/targets.test.ts.
 */
import t from 'tap';
import { provideImage, type MemoryProvider } from '../../../src/providers/memory';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { targetName } from '../../../src/reconciler/vmimage/targets';
import { condition, createFixtures, memoryRegistry, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let providers = new Map<string, MemoryProvider>();
const lab = () => providers.get('lab')!;

const image = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API, kind: 'VMImage', metadata: { name, namespace: env.ns },
  spec: { source: { libvirt: { url: `https://images.example.invalid/${name}.qcow2`, checksum: 'ab'.repeat(32) } }, ...spec },
});
const getImage = (name: string) => env.admin.get<any>(Kinds.VMImage, env.ns, name);
const prepareCalls = (p: MemoryProvider, img: any) => p.events.filter((e) => e.op === 'ImagePrepare' && e.target === targetName(img)).length;
const memoryVm = (p: MemoryProvider, id: string) => p.store.read().vms[id];

async function events(name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = await env.admin.list<any>(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  const { registry, providers: made } = memoryRegistry();
  providers = made;
  const provider = (name: string, query: string) => ({
    apiVersion: API, kind: 'Provider', metadata: { name, namespace: env.ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: { type: 'libvirt', endpoint: `https://memory.invalid/${name}?${query}`, credentialSecretRef: { name: 'lab-creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '2s' } },
  });
  // A Provider whose tasks take 3 s (for prepare.timeout) and one without ImagePrepare.
  await env.admin.create(Kinds.Provider, provider('slow', 'completeAfterMs=3000'));
  await env.admin.create(Kinds.Provider, provider('plain', 'imageImport=0'));
  await env.start({ registry, vmImageTiming: { pollMs: 200, waitMs: 500, backoffMs: 200, maxBackoffMs: 1_000 } });
});

t.test('one preparation per Provider for three VMs; they are built from it', async (t) => {
  await env.admin.create(Kinds.VMImage, image('shared'));
  for (const n of ['s1', 's2', 's3']) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n, { imageRef: { name: 'shared' } }));
  const vms = [];
  for (const n of ['s1', 's2', 's3']) vms.push(await env.waitFor(Kinds.VirtualMachine, n, (o: any) => o.status?.phase === 'Running', 'Running'));
  const img = await getImage('shared');
  t.equal(prepareCalls(lab(), img), 1, 'ImagePrepare called once on Provider lab');
  const entry = img.status.providerStatus.lab;
  t.match(entry, { available: true, phase: 'Ready', reason: 'Prepared', observedGeneration: img.metadata.generation, id: `img-${targetName(img)}` });
  t.match(img.status, { ready: true, phase: 'Ready', availableOn: ['lab'], observedGeneration: img.metadata.generation });
  t.match(condition(img, 'Ready'), { status: 'True', reason: 'Prepared' });
  t.match(condition(img, 'Importing'), { status: 'False', reason: 'Prepared' });
  t.ok(img.status.lastPrepareTime, 'lastPrepareTime set');
  for (const vm of vms) t.equal(memoryVm(lab(), vm.status.id)?.image, entry.id, `${vm.metadata.name} created from the prepared image, not the URL`);
  const reasons = (await events('shared')).map((e) => e.reason);
  t.ok(reasons.includes('Importing') && reasons.includes('Prepared'), `Events Importing and Prepared (${reasons})`);
  // A fourth VM later: no second preparation.
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 's4', { imageRef: { name: 'shared' } }));
  await env.waitFor(Kinds.VirtualMachine, 's4', (o: any) => o.status?.phase === 'Running', 'Running');
  t.equal(prepareCalls(lab(), img), 1, 'still one ImagePrepare');
});

t.test('onMissing Wait: the VM stays Pending until an outside preparer provides the image', async (t) => {
  await env.admin.create(Kinds.VMImage, image('waited', { prepare: { onMissing: 'Wait' } }));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'w1', { imageRef: { name: 'waited' } }));
  // First "not prepared yet", then the image's Waiting entry in the VM's words.
  const pending = await env.waitFor(Kinds.VirtualMachine, 'w1', (o: any) => condition(o, 'Ready')?.reason === 'WaitingForImage' && /onMissing Wait/.test(condition(o, 'Ready')!.message), 'WaitingForImage');
  t.equal(pending.status.phase, 'Pending');
  t.match(condition(pending, 'Ready')?.message, /VMImage ".*\/waited" is being prepared on Provider lab: waiting for the image to be provided \(spec\.prepare\.onMissing Wait\)/);
  const img = await env.waitFor(Kinds.VMImage, 'waited', (o: any) => o.status?.providerStatus?.lab?.phase === 'Waiting', 'Waiting');
  t.match(img.status, { phase: 'Pending', ready: false });
  t.match(condition(img, 'Ready'), { status: 'False', reason: 'WaitingForImage' });
  t.notOk(pending.status.id, 'not created');
  const before = prepareCalls(lab(), img);
  await new Promise((r) => setTimeout(r, 1_500));
  t.ok(prepareCalls(lab(), img) > before, 'looked at again while waiting');
  t.notOk((await env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'w1'))?.status?.id, 'still not created');
  lab().store.mutate((s) => provideImage(s, targetName(img)));
  await env.waitFor(Kinds.VirtualMachine, 'w1', (o: any) => o.status?.phase === 'Running', 'Running once provided');
  t.match((await getImage('waited')).status, { phase: 'Ready', ready: true });
});

t.test('onMissing Fail: Failed with MissingOnProvider, and the VM says why', async (t) => {
  await env.admin.create(Kinds.VMImage, image('strict', { prepare: { onMissing: 'Fail' } }));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'f1', { imageRef: { name: 'strict' } }));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'f1', (o: any) => condition(o, 'Ready')?.reason === 'ImageNotReady', 'ImageNotReady');
  t.match(condition(vm, 'Ready')?.message, /could not be prepared on Provider lab: the image is missing and spec\.prepare\.onMissing is Fail/);
  const img = await getImage('strict');
  t.match(img.status, { phase: 'Failed', ready: false, providerStatus: { lab: { phase: 'Failed', reason: 'MissingOnProvider', available: false } } });
  t.match(condition(img, 'Ready'), { status: 'False', reason: 'MissingOnProvider' });
  const calls = prepareCalls(lab(), img);
  await new Promise((r) => setTimeout(r, 1_000));
  t.equal(prepareCalls(lab(), img), calls, 'not retried');
  t.notOk((await env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'f1'))?.status?.id, 'no VM created');
  t.ok((await events('strict')).some((e) => e.type === 'Warning' && e.reason === 'MissingOnProvider'), 'a Warning Event');
});

t.test('retries: attempts bounded by spec.prepare.retries, then Failed; a spec change prepares again', async (t) => {
  lab().faults.failAlways('ImagePrepare', new Error('disk full on the host'));
  t.teardown(() => lab().faults.clear());
  await env.admin.create(Kinds.VMImage, image('flaky', { prepare: { retries: 2 } }));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'r1', { imageRef: { name: 'flaky' } }));
  const failed = await env.waitFor(Kinds.VMImage, 'flaky', (o: any) => o.status?.phase === 'Failed', 'Failed', 20_000);
  t.equal(prepareCalls(lab(), failed), 3, 'one attempt and two retries');
  t.match(failed.status.providerStatus.lab, { phase: 'Failed', attempts: 3, reason: 'PrepareFailed' });
  t.match(failed.status.providerStatus.lab.message, /disk full on the host \(3 attempts; spec\.prepare\.retries is 2\)/);
  await env.waitFor(Kinds.VirtualMachine, 'r1', (o: any) => condition(o, 'Ready')?.reason === 'ImageNotReady', 'ImageNotReady');
  lab().faults.clear();
  await env.admin.patch(Kinds.VMImage, env.ns, 'flaky', { spec: { metadata: { description: 'retry now' } } }, { type: 'merge' });
  const ready = await env.waitFor(Kinds.VMImage, 'flaky', (o: any) => o.status?.phase === 'Ready' && o.status.observedGeneration === o.metadata.generation, 'Ready at the new generation');
  t.equal(ready.status.providerStatus.lab.attempts, 0, 'attempts reset with the generation');
  await env.waitFor(Kinds.VirtualMachine, 'r1', (o: any) => o.status?.phase === 'Running', 'Running');
});

t.test('timeout: a prepare task that outlives spec.prepare.timeout fails the attempt', async (t) => {
  await env.admin.create(Kinds.VMImage, image('slowimg', { prepare: { timeout: '1s', retries: 0 } }));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 't1', { providerRef: { name: 'slow' }, imageRef: { name: 'slowimg' } }));
  const img = await env.waitFor(Kinds.VMImage, 'slowimg', (o: any) => o.status?.phase === 'Failed', 'Failed', 20_000);
  t.match(img.status.providerStatus.slow.message, /did not finish within spec\.prepare\.timeout 1s/);
  t.notOk(img.status.providerStatus.slow.prepareTaskRef, 'the task is let go');
});

t.test('a Provider without ImagePrepare: Deferred, and the VM is created from the source as before', async (t) => {
  await env.admin.create(Kinds.VMImage, image('deferred'));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'd1', { providerRef: { name: 'plain' }, imageRef: { name: 'deferred' } }));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'd1', (o: any) => o.status?.phase === 'Running', 'Running');
  const img = await getImage('deferred');
  t.match(img.status.providerStatus.plain, { phase: 'Deferred', available: false });
  t.match(img.status, { phase: 'Ready' });
  t.equal(providers.get('plain')!.calls.ImagePrepare, 0, 'not called: the Provider reports no supportsImageImport');
  t.equal(memoryVm(providers.get('plain')!, vm.status.id)?.image, 'https://images.example.invalid/deferred.qcow2', 'the provider got the URL');
});
