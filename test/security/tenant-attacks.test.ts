/**
 * Attacks on a reconciler several teams share, each run as a tenant (a user
 * whose Role allows virtrigaud objects and Secrets in its own namespace
 * only) against the real API server, with the reconciler as the install's
 * ServiceAccount and an operator configuration that gives namespace A an
 * in-process QEMU instance and both teams the in-memory test driver
 * (served because the test turns test providers on, as
 * --enable-test-providers does). Each attack must be refused with a
 * condition that says why, and must leave the host and the other team
 * untouched. docs/security.md lists them.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerQemuProvider } from '../../src/providers/qemu';
import { Kinds } from '../../src/reconciler/kinds';
import { CoreResources, type ResourceType } from '../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, vmObject, type OperatorEnv } from '../reconciler/support/env';
import { eventually, eventsFor, memoryRegistry, type MemoryRegistry } from '../reconciler/support/faults-helpers';
import { tenantIn, type Tenant } from './tenant';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let A: Tenant;
let B: Tenant;
let mem: MemoryRegistry;
let work: string;
let imagesDir: string;
let qemuDir: string;
let bait: Server;
let baitHits = 0;
let baitPort = 0;

const get = (rt: ResourceType, ns: string, name: string) => env.admin.get<any>(rt, ns, name);
/** Waits until condition `type` of the object has `reason`; returns the condition. */
const refusedWith = (rt: ResourceType, ns: string, name: string, reason: string, type = 'Ready'): Promise<{ message: string }> =>
  eventually(`${rt.kind} ${ns}/${name} ${type}=False/${reason}`, async () => {
    const c = condition(await get(rt, ns, name), type);
    return c?.status === 'False' && c.reason === reason ? c : undefined;
  }, 30_000) as Promise<{ message: string }>;
const provider = (ns: string, name: string, instance: string, type: string, endpoint: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: API, kind: 'Provider',
  metadata: { name, namespace: ns, annotations: { 'virtrigaud.io/in-process': instance } },
  spec: { type, endpoint, credentialSecretRef: { name: 'creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '2s' }, ...extra },
});
const image = (ns: string, name: string, source: Record<string, unknown>) => ({ apiVersion: API, kind: 'VMImage', metadata: { name, namespace: ns }, spec: { source } });

t.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'vr-attacks-'));
  imagesDir = join(work, 'images');
  qemuDir = join(work, 'qemu-a');
  mkdirSync(imagesDir);
  mkdirSync(qemuDir);
  bait = createServer((_req, res) => {
    baitHits++;
    res.end('metadata-service-secret');
  });
  await new Promise<void>((r) => bait.listen(0, '127.0.0.1', r));
  baitPort = (bait.address() as { port: number }).port;
  t.teardown(() => new Promise<void>((r) => bait.close(() => r())));

  // A private control plane: the reconciler watches every namespace, as a shared install does.
  env = await operatorEnv(t, { private: true });
  A = await tenantIn(env, `${env.ns}-a`);
  B = await tenantIn(env, `${env.ns}-b`);
  for (const ten of [A, B]) {
    await ten.client.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ten.ns }, stringData: { username: 'admin', password: `pw-of-${ten.ns}` } });
    await ten.client.create(Kinds.Provider, provider(ten.ns, 'lab', 'memory', 'libvirt', 'https://memory.invalid/lab'));
    await ten.client.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'small', namespace: ten.ns }, spec: { cpu: 1, memory: '512Mi' } });
    await ten.client.create(Kinds.VMImage, image(ten.ns, 'ubuntu', { libvirt: { path: '/var/lib/libvirt/images/ubuntu.qcow2', format: 'qcow2' } }));
  }
  mem = memoryRegistry({});
  registerQemuProvider(mem.registry);
  await env.start({
    registry: mem.registry,
    namespace: undefined,
    config: testConfig([A.ns, B.ns], {
      instances: [{ name: 'qemu-a', driver: 'qemu', namespaces: [A.ns], qemu: { stateDir: qemuDir, sandbox: true, nic: 'none' } }],
      images: { roots: [imagesDir], tempDir: join(work, 'tmp') },
    }),
  });
  await A.client.create(Kinds.VirtualMachine, vmObject(A.ns, 'web'));
  await eventually('A/web Running', async () => ((await get(Kinds.VirtualMachine, A.ns, 'web'))?.status?.phase === 'Running' ? true : undefined), 30_000);
});

t.test('in-process drivers and their host knobs are the operator\'s, not the tenant\'s', async (t) => {
  // B asks for A's QEMU instance.
  await B.client.create(Kinds.Provider, provider(B.ns, 'stolen', 'qemu-a', 'qemu', 'qemu:///system'));
  const stolen = await refusedWith(Kinds.Provider, B.ns, 'stolen', 'InProcessNotAllowed', 'ProviderRuntimeReady');
  t.match(stolen.message, new RegExp(`"qemu-a" is not available to namespace ${B.ns}`));
  // A picks a state directory, a binary and no sandbox through the endpoint.
  await A.client.create(Kinds.Provider, provider(A.ns, 'knobs', 'qemu-a', 'qemu', `qemu:///${work}/other-state?binary=/bin/sh&sandbox=0`));
  const knobs = await refusedWith(Kinds.Provider, A.ns, 'knobs', 'EndpointNotAllowed', 'ProviderRuntimeReady');
  t.match(knobs.message, /may connect to "qemu:\/\/\/system" only/);
  // A names a driver directly, or the root libvirtd.
  await A.client.create(Kinds.Provider, provider(A.ns, 'root', 'libvirt', 'libvirt', 'qemu:///system'));
  t.match((await refusedWith(Kinds.Provider, A.ns, 'root', 'InProcessNotAllowed', 'ProviderRuntimeReady')).message, /"libvirt" is not an in-process provider the operator configured/);
  // A claims the QEMU instance serves another hypervisor type.
  await A.client.create(Kinds.Provider, provider(A.ns, 'typed', 'qemu-a', 'vsphere', 'qemu:///system'));
  t.match((await refusedWith(Kinds.Provider, A.ns, 'typed', 'DriverTypeMismatch', 'ProviderRuntimeReady')).message, /spec.type: Invalid value: "vsphere"/);
  // A VM on a refused Provider says why and is not created.
  await A.client.create(Kinds.VirtualMachine, vmObject(A.ns, 'on-knobs', { providerRef: { name: 'knobs' } }));
  t.match((await refusedWith(Kinds.VirtualMachine, A.ns, 'on-knobs', 'EndpointNotAllowed')).message, /spec.endpoint/);
  t.notOk(existsSync(join(work, 'other-state')), 'no state directory of the tenant\'s choosing');
  t.same(readdirSync(qemuDir).filter((f) => f !== 'images' && f !== 'vms'), [], 'nothing else in the instance state directory');
  const events = await eventsFor({ ...env, ns: B.ns } as OperatorEnv, 'stolen');
  t.ok(events.some((e) => e.type === 'Warning' && e.reason === 'InProcessNotAllowed'), 'a Warning event on the refused Provider');
});

t.test('image paths cannot read host files', async (t) => {
  await A.client.create(Kinds.Provider, provider(A.ns, 'qemu', 'qemu-a', 'qemu', 'qemu:///system'));
  symlinkSync('/etc/passwd', join(imagesDir, 'link.qcow2'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(imagesDir, 'backed.qcow2')]);
  writeFileSync(join(imagesDir, 'bait.html'), 'not an image');
  const attacks: Record<string, Record<string, unknown>> = {
    shadow: { imageRef: { name: 'shadow' } },
    dotdot: { imageRef: { name: 'dotdot' } },
    symlink: { imageRef: { name: 'symlink' } },
    backing: { imageRef: { name: 'backing' } },
    imported: { imageRef: undefined, importedDisk: { diskID: '../../../../etc/passwd', format: 'raw' } },
    'imported-path': { imageRef: undefined, importedDisk: { diskID: 'x', path: '/etc/shadow', format: 'raw' } },
  };
  await A.client.create(Kinds.VMImage, image(A.ns, 'shadow', { libvirt: { path: '/etc/shadow', format: 'qcow2' } }));
  await A.client.create(Kinds.VMImage, image(A.ns, 'dotdot', { libvirt: { path: `${imagesDir}/../../../etc/passwd`, format: 'qcow2' } }));
  await A.client.create(Kinds.VMImage, image(A.ns, 'symlink', { libvirt: { path: join(imagesDir, 'link.qcow2'), format: 'qcow2' } }));
  await A.client.create(Kinds.VMImage, image(A.ns, 'backing', { libvirt: { path: join(imagesDir, 'backed.qcow2'), format: 'qcow2' } }));
  for (const [name, spec] of Object.entries(attacks)) {
    await A.client.create(Kinds.VirtualMachine, vmObject(A.ns, name, { providerRef: { name: 'qemu' }, ...spec }));
  }
  for (const name of Object.keys(attacks)) {
    const c = (await eventually(`${name} refused`, async () => {
      const ready = condition(await get(Kinds.VirtualMachine, A.ns, name), 'Ready');
      return ready?.reason === 'ProviderError' && /InvalidSpec/.test(ready.message) ? ready : undefined;
    }, 30_000))!;
    t.match(c.message, /outside the image roots|backing file|\.\.|names no Path|not allowed/, `${name}: ${c.message}`);
    t.notOk(/root:x:0:0/.test(c.message), `${name}: no file content in the message`);
  }
  const vmsDir = join(qemuDir, 'vms');
  t.same(existsSync(vmsDir) ? readdirSync(vmsDir) : [], [], 'no VM was created from any of them');
});

t.test('image URLs and hooks cannot reach the host\'s own network', async (t) => {
  await A.client.create(Kinds.VMImage, image(A.ns, 'metadata', { http: { url: `http://127.0.0.1:${baitPort}/latest/meta-data.qcow2` } }));
  await A.client.create(Kinds.VirtualMachine, vmObject(A.ns, 'fetcher', { providerRef: { name: 'qemu' }, imageRef: { name: 'metadata' } }));
  const c = (await eventually('fetcher refused', async () => {
    const ready = condition(await get(Kinds.VirtualMachine, A.ns, 'fetcher'), 'Ready');
    return ready?.reason === 'ProviderError' && /InvalidSpec/.test(ready.message) ? ready : undefined;
  }, 30_000))!;
  t.match(c.message, /127\.0\.0\.1/);
  // postStart httpGet at the host's loopback (not an address of the VM).
  await A.client.create(Kinds.VirtualMachine, vmObject(A.ns, 'hooked', { lifecycle: { postStart: { httpGet: { host: '127.0.0.1', port: baitPort, path: '/' } } } }));
  const events = (await eventually('hook refused', async () => {
    const evs = await eventsFor({ ...env, ns: A.ns } as OperatorEnv, 'hooked');
    return evs.find((e) => e.reason === 'PostStartHookFailed');
  }, 30_000))!;
  t.match(events.message, /127\.0\.0\.1/);
  t.equal(baitHits, 0, 'the bait server on the host got no request');
});

t.test('a Provider status written by the tenant does not choose where the reconciler dials', async (t) => {
  let dialled = 0;
  const trap = createNetServer((sock) => {
    dialled++;
    sock.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => trap.close(() => r())));
  const trapAddress = `127.0.0.1:${(trap.address() as { port: number }).port}`;
  const remote = provider(B.ns, 'remote', 'memory', 'libvirt', 'qemu:///system');
  delete (remote.metadata as { annotations?: unknown }).annotations;
  remote.spec.runtime = { image: 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt:v0.3.3', service: { tls: { enabled: false } } } as any;
  await B.client.create(Kinds.Provider, remote);
  await B.client.create(Kinds.VirtualMachine, vmObject(B.ns, 'dialer', { providerRef: { name: 'remote' } }));
  // For five seconds B keeps claiming the runtime runs at an address of its choosing.
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    await B.client.patch(Kinds.Provider, B.ns, 'remote', { status: { runtime: { phase: 'Running', endpoint: trapAddress } } }, { type: 'merge', subresource: 'status' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(dialled, 0, 'the reconciler never dialled the address written into status');
});

t.test('another namespace\'s Provider, credentials and VMs are out of reach', async (t) => {
  // B's VM names A's Provider: without A's consent the reference does not count.
  await B.client.create(Kinds.VirtualMachine, vmObject(B.ns, 'intruder', { providerRef: { name: 'lab', namespace: A.ns } }));
  const c = await refusedWith(Kinds.VirtualMachine, B.ns, 'intruder', 'ReferenceNotPermitted');
  t.match(c.message, new RegExp(`Provider "${A.ns}/lab" does not allow references from namespace ${B.ns}`));
  // B's Provider reads A's credentials Secret.
  await B.client.create(Kinds.Provider, provider(B.ns, 'borrowed', 'memory', 'libvirt', 'https://memory.invalid/x', { credentialSecretRef: { name: 'creds', namespace: A.ns } }));
  const borrowed = await refusedWith(Kinds.Provider, B.ns, 'borrowed', 'SecretReferenceNotPermitted', 'ProviderRuntimeReady');
  t.match(borrowed.message, /spec.credentialSecretRef.namespace: Forbidden/);
  t.notOk(JSON.stringify(await get(Kinds.Provider, B.ns, 'borrowed')).includes(`pw-of-${A.ns}`));
  const before = (await mem.latest().listVMs()).map((v) => v.name).sort();
  t.notOk(before.some((n) => n.includes('intruder')), 'nothing created for the refused reference');
  // The refused VM's deletion completes (nothing was ever created through it).
  await B.client.delete(Kinds.VirtualMachine, B.ns, 'intruder');
  await eventually('intruder gone', async () => ((await get(Kinds.VirtualMachine, B.ns, 'intruder')) ? undefined : true), 30_000);
});

t.test('identity by uid: a consented tenant cannot take over another\'s VM through status.id', async (t) => {
  const webA = await get(Kinds.VirtualMachine, A.ns, 'web');
  // A shares its Provider, class and image with B (its own decision).
  for (const [kind, name] of [[Kinds.Provider, 'lab'], [Kinds.VMClass, 'small'], [Kinds.VMImage, 'ubuntu']] as const) {
    await A.client.patch(kind, A.ns, name, { spec: { allowedNamespaces: { names: [B.ns] } } }, { type: 'merge' });
  }
  const ref = (name: string) => ({ name, namespace: A.ns });
  await B.client.create(Kinds.VirtualMachine, vmObject(B.ns, 'web', { providerRef: ref('lab'), classRef: ref('small'), imageRef: ref('ubuntu') }));
  const webB = await eventually('B/web Running', async () => {
    const o = await get(Kinds.VirtualMachine, B.ns, 'web');
    return o?.status?.phase === 'Running' ? o : undefined;
  }, 30_000);
  const byName = Object.fromEntries((await mem.latest().listVMs()).map((v) => [v.name, v]));
  t.equal(byName[`${B.ns}_web`]?.uid, webB.metadata.uid, 'B\'s VM is qualified by namespace and carries B\'s uid');
  t.equal(byName.web?.uid, webA.metadata.uid);

  // B writes A's VM id into its own status, then asks for power off, then deletes its VM.
  await B.client.patch(Kinds.VirtualMachine, B.ns, 'web', { status: { id: webA.status.id } }, { type: 'merge', subresource: 'status' });
  await B.client.patch(Kinds.VirtualMachine, B.ns, 'web', { spec: { powerState: 'Off' } }, { type: 'merge' });
  const mismatch = await refusedWith(Kinds.VirtualMachine, B.ns, 'web', 'IdentityMismatch');
  t.match(mismatch.message, new RegExp(`belongs to another VirtualMachine \\(uid ${webA.metadata.uid}`));
  t.equal((await mem.latest().describe(webA.status.id)).powerState, 'On', 'A\'s VM was not powered off');
  // A VMSnapshot of B's VM now would snapshot A's VM: refused too.
  const snapshotsOfA = async () => (await mem.latest().getDiskInfo(webA.status.id, '', '')).snapshots.length;
  const before = await snapshotsOfA();
  await B.client.create(Kinds.VMSnapshot, { apiVersion: API, kind: 'VMSnapshot', metadata: { name: 'grab', namespace: B.ns }, spec: { vmRef: { name: 'web' } } });
  t.match((await refusedWith(Kinds.VMSnapshot, B.ns, 'grab', 'IdentityMismatch')).message, /belongs to another VirtualMachine/);
  t.equal(await snapshotsOfA(), before, 'no snapshot was taken of A\'s VM');
  await B.client.delete(Kinds.VMSnapshot, B.ns, 'grab');
  await eventually('grab gone', async () => ((await get(Kinds.VMSnapshot, B.ns, 'grab')) ? undefined : true), 30_000);
  await B.client.delete(Kinds.VirtualMachine, B.ns, 'web');
  await eventually('B/web released', async () => ((await get(Kinds.VirtualMachine, B.ns, 'web')) ? undefined : true), 30_000);
  const after = await mem.latest().describe(webA.status.id);
  t.ok(after.exists && after.powerState === 'On', 'A\'s VM survives B\'s deletion');
  const events = await eventsFor({ ...env, ns: B.ns } as OperatorEnv, 'web');
  t.ok(events.some((e) => e.reason === 'IdentityMismatch'), 'B is told why');
});

t.test('a VMSet reaches no other namespace: members stay in its own, foreign references are refused, forged owner references do nothing', async (t) => {
  const vmset = (ns: string, name: string, replicas: number, template: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
    apiVersion: API, kind: 'VMSet', metadata: { name, namespace: ns },
    spec: {
      replicas, selector: { matchLabels: { app: name } }, updateStrategy: { rollingUpdate: { podManagementPolicy: 'Parallel' } },
      template: { metadata: { labels: { app: name }, ...metadata }, spec: { classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, providerRef: { name: 'lab' }, ...template } },
    },
  });
  // B's set names a Provider of A's that consents to nobody, and asks for its members to live in A.
  await A.client.create(Kinds.Provider, provider(A.ns, 'sealed', 'memory', 'libvirt', 'https://memory.invalid/sealed'));
  await B.client.create(Kinds.VMSet, vmset(B.ns, 'spill', 2, { providerRef: { name: 'sealed', namespace: A.ns } }, { namespace: A.ns }));
  t.equal((await get(Kinds.VMSet, B.ns, 'spill')).spec.template.metadata.namespace, undefined, 'the API server pruned the template namespace');
  let lastSpill: unknown;
  const failure = await eventually('spill ReplicaFailure', async () => {
    const spill = await get(Kinds.VMSet, B.ns, 'spill');
    lastSpill = spill?.status;
    const c = condition(spill, 'ReplicaFailure');
    return c?.status === 'True' && /spill-0/.test(c.message) && /spill-1/.test(c.message) ? c : undefined;
  }, 30_000).catch((e) => {
    throw new Error(`${(e as Error).message}; set status: ${JSON.stringify(lastSpill)}`);
  });
  t.match(failure!.message, new RegExp(`Provider "${A.ns}/sealed" does not allow references from namespace ${B.ns}`), 'the set says why its members fail');
  for (const n of ['spill-0', 'spill-1']) {
    t.equal((await get(Kinds.VirtualMachine, B.ns, n))?.metadata.namespace, B.ns, `${n} is in B`);
    t.equal(condition(await get(Kinds.VirtualMachine, B.ns, n), 'Ready')?.reason, 'ReferenceNotPermitted');
    t.equal(await get(Kinds.VirtualMachine, A.ns, n), undefined, `no ${n} in A`);
  }
  t.notOk((await mem.latest().listVMs()).some((v) => v.name.includes('spill')), 'nothing created on a provider');

  // A's set; B forges a VM in B claiming to be one of its members (uid leaked), A has a look-alike VM of its own.
  await A.client.create(Kinds.VMSet, vmset(A.ns, 'guard', 1, {}));
  const guard = await eventually('guard ready', async () => {
    const s = await get(Kinds.VMSet, A.ns, 'guard');
    return s?.status?.readyReplicas === 1 ? s : undefined;
  }, 30_000);
  const forged = { apiVersion: API, kind: 'VMSet', name: 'guard', uid: guard.metadata.uid, controller: true };
  await B.client.create(Kinds.VirtualMachine, { ...vmObject(B.ns, 'guard-5'), metadata: { name: 'guard-5', namespace: B.ns, labels: { app: 'guard' }, ownerReferences: [forged] } });
  await A.client.create(Kinds.VirtualMachine, { ...vmObject(A.ns, 'guard-7'), metadata: { name: 'guard-7', namespace: A.ns, labels: { app: 'guard' } } });
  await A.client.patch(Kinds.VMSet, A.ns, 'guard', { spec: { replicas: 0 } }, { type: 'merge' });
  await eventually('guard-0 gone', async () => ((await get(Kinds.VirtualMachine, A.ns, 'guard-0')) ? undefined : true), 30_000);
  const after = await eventually('guard at 0', async () => {
    const s = await get(Kinds.VMSet, A.ns, 'guard');
    return s?.status?.replicas === 0 && s.status.observedGeneration === s.metadata.generation ? s : undefined;
  }, 30_000);
  t.equal(after.status.replicas, 0, 'neither look-alike counts as a member');
  for (const [ns, n] of [[B.ns, 'guard-5'], [A.ns, 'guard-7']] as const) {
    const vm = await get(Kinds.VirtualMachine, ns, n);
    t.ok(vm && !vm.metadata.deletionTimestamp, `${ns}/${n} is left alone`);
  }
  for (const [ns, n] of [[B.ns, 'spill'], [A.ns, 'guard']] as const) await env.admin.delete(Kinds.VMSet, ns, n);
});
