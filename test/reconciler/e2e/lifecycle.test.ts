/**
 * The VirtualMachine lifecycle end to end on the real API server, with the
 * reconciler running as the install's ServiceAccount and the in-memory
 * provider in process: create → Running → power off/on → resize →
 * snapshot revert → delete, asserting status, Events and the provider side.
 */
import t from 'tap';
import { MemoryProvider } from '../../../src/providers/memory';
import { ProviderError } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

const PASSWORD = 'hunter2-Very-Secret-Pa55';
let env: OperatorEnv;
let memory: MemoryProvider;
let logs: string[];

async function eventsFor(name: string): Promise<{ reason: string; type: string; message: string; count?: number }[]> {
  const list = await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e: any) => ({ reason: e.reason, type: e.type, message: e.message, count: e.count }));
}

async function waitForEvent(name: string, reason: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const evs = await eventsFor(name);
    if (evs.some((e) => e.reason === reason)) return;
    if (Date.now() > deadline) throw new Error(`no ${reason} event for ${name}; events: ${JSON.stringify(evs)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab?asyncTasks=1&completeAfterMs=300', password: PASSWORD });
  const registry = new ProviderRegistry().register('memory', (ctx) => {
    memory = new MemoryProvider({ asyncTasks: { completeAfterMs: 300 }, credentials: ctx.credentials });
    return memory;
  });
  const running = await env.start({ registry });
  logs = running.logs;
});

t.test('create → Running', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'web', {
    networks: [{ name: 'eth0', ipAddress: '198.51.100.20', prefix: 24 }],
    disks: [{ name: 'data', sizeGiB: 10 }],
    tags: ['web'],
  }));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running and Ready');
  t.match(vm.status.id, /\S/, 'status.id is the provider id');
  t.equal(vm.status.powerState, 'On');
  t.ok(vm.status.ips?.length, 'ips reported');
  t.match(vm.status.consoleURL, /\S/, 'consoleURL reported');
  t.same(vm.status.currentResources, { cpu: 2, memoryMiB: 4096 });
  t.equal(vm.status.observedGeneration, vm.metadata.generation);
  t.ok(vm.metadata.finalizers.includes('virtualmachine.infra.virtrigaud.io/finalizer'), 'finalizer set');
  t.equal(condition(vm, 'Provisioning')?.status, 'False', 'provisioning done');
  t.notOk(vm.status.lastTaskRef, 'no task outstanding');
  const listed = await memory.listVMs();
  t.equal(listed.filter((v) => v.name === 'web').length, 1, 'exactly one VM on the provider');
  await waitForEvent('web', 'Created');
  await waitForEvent('web', 'Running');
  const provider = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true && o.status?.connectedVMs === 1, 'healthy with 1 VM');
  t.equal(condition(provider, 'ProviderAvailable')?.status, 'True');
  t.equal(condition(provider, 'Ready')?.status, 'True', 'Provider Ready');
  t.equal(vm.status.message, condition(vm, 'Ready')?.message, 'status.message is the Ready message');
  t.equal(provider.status.reportedCapabilities.supportsSnapshots, true, 'capabilities reported');
});

t.test('power off, then on', async (t) => {
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec: { powerState: 'Off' } }, { type: 'merge' });
  let vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Stopped' && o.status.powerState === 'Off' && condition(o, 'Ready')?.status === 'True', 'Stopped');
  const id = vm.status.id;
  t.equal((await memory.describe(id)).powerState, 'Off', 'the provider has it off');
  await waitForEvent('web', 'PowerOff');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec: { powerState: 'On' } }, { type: 'merge' });
  vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running again');
  t.equal(vm.status.id, id, 'same VM');
  t.equal((await memory.describe(id)).powerState, 'On');
  await waitForEvent('web', 'PowerOn');
});

t.test('resize through spec.resources', async (t) => {
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec: { resources: { cpu: 4, memoryMiB: 8192 } } }, { type: 'merge' });
  const vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.currentResources?.cpu === 4 && o.status.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'resized');
  t.same(vm.status.currentResources, { cpu: 4, memoryMiB: 8192 });
  t.match(vm.status.lastReconfigureTime, /^\d{4}-\d\d-\d\dT/);
  t.equal(condition(vm, 'Reconfiguring')?.reason, 'ReconcileSuccess');
  t.equal(condition(vm, 'Provisioning')?.status, 'False', 'power and resize tasks are not reported as provisioning');
  const d = await memory.describe(vm.status.id);
  t.equal(d.cpu, 4, 'provider VM has 4 vCPUs');
  t.equal(d.memoryMiB, 8192);
  await waitForEvent('web', 'Reconfigured');
});

t.test('snapshot, then revert to it', async (t) => {
  await env.admin.create(Kinds.VMSnapshot, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name: 'before-change', namespace: env.ns }, spec: { vmRef: { name: 'web' } } });
  const snap = await env.waitFor(Kinds.VMSnapshot, 'before-change', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready');
  t.match(snap.status.snapshotID, /\S/);
  let vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.snapshots?.length === 1, 'status.snapshots lists it');
  t.equal(vm.status.snapshots[0].name, 'before-change');
  // Change the VM on the provider behind the reconciler's back, then revert.
  await memory.power(vm.status.id, 'Off', 0).then((task) => task && waitTask(task.id));
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec: { snapshot: { revertToRef: { name: 'before-change' } } } }, { type: 'merge' });
  vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] === snap.metadata.uid && o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'reverted and running');
  await waitForEvent('web', 'SnapshotReverted');
  t.ok(memory.calls.SnapshotRevert >= 1, 'the provider was asked to revert');
  const reverts = memory.calls.SnapshotRevert;
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(memory.calls.SnapshotRevert, reverts, 'a revert happens once per snapshot, not on every reconcile');
});

async function waitTask(id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await memory.taskStatus({ id })).done) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('delete through the finalizer', async (t) => {
  const vm = await env.admin.get(Kinds.VirtualMachine, env.ns, 'web');
  const id = vm.status.id;
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'web');
  const deadline = Date.now() + 30_000;
  while (await env.admin.get(Kinds.VirtualMachine, env.ns, 'web')) {
    if (Date.now() > deadline) throw new Error('VM was not released');
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal((await memory.describe(id)).exists, false, 'gone from the provider');
  t.equal((await memory.listVMs()).length, 0, 'no orphan on the provider');
  const evs = await eventsFor('web');
  t.ok(evs.some((e) => e.reason === 'Deleting'), 'Deleting event');
  t.ok(evs.some((e) => e.reason === 'Deleted'), 'Deleted event');
});

t.test('credentials never appear in the logs', async (t) => {
  // A provider error that quotes the password (as a careless driver might) must be redacted too.
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'leaky'));
  await env.waitFor(Kinds.VirtualMachine, 'leaky', (o: any) => o.status?.phase === 'Running', 'Running');
  memory.faults.failAlways('Describe', new ProviderError('Unauthenticated', `login admin/${PASSWORD} refused`));
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'leaky', { spec: { powerState: 'Off' } }, { type: 'merge' });
  const failing = await env.waitFor(Kinds.VirtualMachine, 'leaky', (o: any) => condition(o, 'Ready')?.reason === 'ProviderError', 'the provider error in status');
  t.match(condition(failing, 'Ready')?.message, /login \[REDACTED\]\/\[REDACTED\] refused/, 'the condition message is redacted');
  memory.faults.clear();
  const vm = await env.waitFor(Kinds.VirtualMachine, 'leaky', (o: any) => o.status?.phase === 'Stopped', 'Stopped after the errors');
  const events = await eventsFor('leaky');
  t.ok(events.some((e) => e.reason === 'ProviderError' && e.message.includes('[REDACTED]')), 'the Warning event is redacted');
  t.notOk(events.some((e) => e.message.includes(PASSWORD)), 'no event carries the password');
  t.ok(logs.some((l) => l.includes('[REDACTED]')), 'the error was logged, redacted');
  t.ok(logs.length > 20, `the operator logged (${logs.length} lines)`);
  t.notMatch(JSON.stringify(vm.status), /hunter2/, 'not in status either');
  const leaked = logs.filter((l) => l.includes(PASSWORD));
  t.same(leaked, [], 'the Secret password is in no log line');
  // Events and other fire-and-forget writes only log a 403: the install's role must make none happen.
  t.same(logs.filter((l) => /forbidden/i.test(l)), [], 'no request was forbidden to the install\'s ServiceAccount');
});
