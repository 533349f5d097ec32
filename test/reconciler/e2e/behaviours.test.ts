/**
 * VirtualMachine behaviours beyond the happy path, on the real API server
 * as the install's ServiceAccount: dependencies that appear later, cloud-init
 * from a Secret, lifecycle hooks, graceful shutdown, a VM that vanished on
 * the provider, and deletion when the provider is gone.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryProvider } from '../../../src/providers/memory';
import type { CreateRequest, Provider } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, createFixtures, operatorEnv, testConfig, vmObject, type OperatorEnv } from '../support/env';

let env: OperatorEnv;
let memory: MemoryProvider;
const creates: CreateRequest[] = [];

async function reasons(name: string): Promise<string[]> {
  const list = await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e: any) => e.reason);
}
async function waitForEvent(name: string, reason: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await reasons(name)).includes(reason)) {
    if (Date.now() > deadline) throw new Error(`no ${reason} event for ${name}: ${(await reasons(name)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const running = (name: string) => env.waitFor(Kinds.VirtualMachine, name, (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running');

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  memory = new MemoryProvider({ credentials: { username: 'admin' } });
  // Record what Create receives, to check the cloud-init payload.
  const recording = new Proxy(memory, {
    get(target, prop, receiver) {
      if (prop === 'create') return (req: CreateRequest, o: unknown) => (creates.push(req), target.create(req, o as never));
      // The test owns the instance: a reconnect must not close it.
      if (prop === 'close') return async () => undefined;
      return Reflect.get(target, prop, receiver);
    },
  }) as Provider;
  // dependencyRetryMs is long: only the watches on referenced objects can wake a waiting VM in time.
  await env.start({
    registry: new ProviderRegistry().register('memory', () => recording),
    vmTiming: { pollMs: 200, resyncMs: 5_000, dependencyRetryMs: 120_000, errorRetryMs: 500 },
    // The hook test's server listens on the loopback, which the operator must allow explicitly.
    config: testConfig([env.ns], { hooks: { httpGetAllowedCidrs: ['127.0.0.1/32'] } }),
  });
});

t.test('missing references are named, and creating them wakes the VM', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'early', { classRef: { name: 'later' }, networks: [{ name: 'eth0', networkRef: { name: 'later-net' } }] }));
  const waiting = await env.waitFor(Kinds.VirtualMachine, 'early', (o: any) => condition(o, 'Ready')?.reason === 'WaitingForDependencies', 'waiting');
  t.match(condition(waiting, 'Ready')?.message, `VMClass "${env.ns}/later"`);
  t.match(condition(waiting, 'Ready')?.message, `VMNetworkAttachment "${env.ns}/later-net"`);
  t.equal(waiting.status.phase, 'Pending');
  await env.admin.create(Kinds.VMClass, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'later', namespace: env.ns }, spec: { cpu: 1, memory: '512Mi' } });
  await env.admin.create(Kinds.VMNetworkAttachment, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMNetworkAttachment', metadata: { name: 'later-net', namespace: env.ns }, spec: { network: { libvirt: { networkName: 'isolated' } } } });
  const started = Date.now();
  await env.waitFor(Kinds.VirtualMachine, 'early', (o: any) => o.status?.phase === 'Running', 'Running', 10_000);
  t.ok(Date.now() - started < 10_000, `converged ${Date.now() - started} ms after the objects appeared`);
  t.equal(creates.find((c) => c.name === 'early')?.networks[0]?.NetworkName, 'isolated', 'the attachment reached the payload');
});

t.test('cloud-init from inline text and a Secret', async (t) => {
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ci', namespace: env.ns }, stringData: { 'user-data': '#cloud-config\npackages: [nginx]', 'meta-data': 'instance-id: ci-1' } });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'ci', {
    userData: { cloudInit: { inline: '#cloud-config\nhostname: ci', secretRef: { name: 'ci' } } },
    metaData: { cloudInit: { secretRef: { name: 'ci' } } },
  }));
  await running('ci');
  const req = creates.find((c) => c.name === 'ci')!;
  t.match(req.userData, /multipart\/mixed[\s\S]*hostname: ci[\s\S]*packages: \[nginx\]/, 'both parts, inline first');
  t.equal(req.metaData, 'instance-id: ci-1');
});

t.test('a missing user-data Secret is reported and picked up once it exists', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'ci2', { userData: { cloudInit: { secretRef: { name: 'ci2' } } } }));
  const waiting = await env.waitFor(Kinds.VirtualMachine, 'ci2', (o: any) => /Secret "[^"]+\/ci2" not found/.test(condition(o, 'Provisioning')?.message ?? ''), 'Secret not found');
  t.equal(waiting.status.id, undefined, 'nothing created without its user-data');
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ci2', namespace: env.ns }, stringData: { userdata: '#cloud-config' } });
  // Secrets are not watched: the dependency retry (2 s here would be the default 30 s) picks it up. Nudge with a spec change instead.
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'ci2', { spec: { tags: ['retry'] } }, { type: 'merge' });
  await running('ci2');
});

t.test('lifecycle hooks: postStart httpGet, preStop exec, graceful shutdown', async (t) => {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url === '/ready') hits++;
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'hooked', {
    lifecycle: { postStart: { httpGet: { host: '127.0.0.1', port, path: '/ready' } }, preStop: { exec: { command: ['systemctl', 'stop', 'app'] } }, gracefulShutdownTimeout: '30s' },
  }));
  const vm = await running('hooked');
  await waitForEvent('hooked', 'PostStartHook');
  t.equal(hits, 1, 'postStart ran once');
  await env.waitFor(Kinds.VirtualMachine, 'hooked', (o: any) => !o.metadata.annotations?.['virtrigaud.io/post-start-pending'], 'hook bookkeeping cleared');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'hooked', { spec: { powerState: 'OffGraceful' } }, { type: 'merge' });
  await env.waitFor(Kinds.VirtualMachine, 'hooked', (o: any) => o.status?.phase === 'Stopped' && condition(o, 'Ready')?.status === 'True', 'Stopped gracefully');
  await waitForEvent('hooked', 'PreStopHook');
  await waitForEvent('hooked', 'ShutdownGraceful');
  const record = Object.values(memory.vms()).find((v) => v.id === vm.status.id)!;
  t.same(record.execLog, [['systemctl', 'stop', 'app']], 'preStop ran in the guest once');
  const powers = memory.calls.Power;
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(memory.calls.Power, powers, 'OffGraceful converged: no shutdown call on every reconcile');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'hooked', { spec: { powerState: 'On' } }, { type: 'merge' });
  await running('hooked');
  await env.waitFor(Kinds.VirtualMachine, 'hooked', () => hits === 2, 'postStart on the next start', 10_000);
  t.equal(hits, 2, 'postStart ran again after power on');
});

t.test('a VM that vanished on the provider is reported, and recreated only when asked', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'ghost'));
  const vm = await running('ghost');
  await memory.delete(vm.status.id);
  const failed = await env.waitFor(Kinds.VirtualMachine, 'ghost', (o: any) => o.status?.phase === 'Failed', 'Failed', 15_000);
  t.equal(condition(failed, 'Ready')?.reason, 'VMMissingOnProvider');
  t.match(condition(failed, 'Ready')?.message, /virtrigaud.io\/recreate="true"/, 'says how to recreate');
  await waitForEvent('ghost', 'VMMissingOnProvider');
  const createsBefore = memory.calls.Create;
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(memory.calls.Create, createsBefore, 'not silently recreated');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'ghost', { metadata: { annotations: { 'virtrigaud.io/recreate': 'true' } } }, { type: 'merge' });
  const again = await running('ghost');
  t.not(again.status.id, vm.status.id, 'a new provider VM');
  t.notOk(again.metadata.annotations?.['virtrigaud.io/recreate'], 'the annotation is consumed');
  t.equal(Object.values(memory.vms()).filter((v) => v.name === 'ghost').length, 1, 'exactly one');
});

t.test('deleting a VM whose Provider is gone waits for force-delete', async (t) => {
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gone-creds', namespace: env.ns }, stringData: { username: 'admin' } });
  await env.admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider',
    metadata: { name: 'doomed', namespace: env.ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: { type: 'qemu', endpoint: 'https://memory.invalid/doomed', credentialSecretRef: { name: 'gone-creds' }, runtime: { image: 'example.invalid/p:v1', service: { tls: { enabled: false } } } },
  });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'orphan', { providerRef: { name: 'doomed' } }));
  const vm = await running('orphan');
  await env.admin.delete(Kinds.Provider, env.ns, 'doomed');
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'orphan');
  const blocked = await env.waitFor(Kinds.VirtualMachine, 'orphan', (o: any) => condition(o, 'Ready')?.reason === 'ProviderNotFound', 'blocked');
  t.equal(blocked.status.phase, 'Deleting');
  t.match(condition(blocked, 'Ready')?.message, /virtrigaud.io\/force-delete/);
  t.equal(Object.values(memory.vms()).filter((v) => v.id === vm.status.id).length, 1, 'the hypervisor VM is still there (nothing could delete it)');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'orphan', { metadata: { annotations: { 'virtrigaud.io/force-delete': 'true' } } }, { type: 'merge' });
  const deadline = Date.now() + 15_000;
  while (await env.admin.get(Kinds.VirtualMachine, env.ns, 'orphan')) {
    if (Date.now() > deadline) throw new Error('not released after force-delete');
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitForEvent('orphan', 'ForceDeleted');
  t.pass('released with force-delete');
});

t.test('neither imageRef nor importedDisk: a clear InvalidSpec, nothing created', async (t) => {
  const obj = vmObject(env.ns, 'bootless');
  delete obj.spec.imageRef;
  await env.admin.create(Kinds.VirtualMachine, obj);
  const vm = await env.waitFor(Kinds.VirtualMachine, 'bootless', (o: any) => condition(o, 'Provisioning')?.reason === 'InvalidSpec', 'InvalidSpec');
  t.match(condition(vm, 'Provisioning')?.message, /spec.imageRef and spec.importedDisk/);
  t.equal(creates.filter((c) => c.name === 'bootless').length, 0);
});
