/**
 * PVE faults through the reconciler on the real API server, fakepve behind
 * it: lost quorum while a VM is created, its node offline (HTTP 595) and the
 * VM locked while it is changed. Each shows as a clear condition, never
 * makes a second VM, and the VM converges once the fault clears.
 */
import t from 'tap';
import { ProviderRegistry } from '../../../src/providers/registry';
import { registerProxmoxProvider } from '../../../src/providers/proxmox';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig } from '../../reconciler/support/env';
import { startFakePve } from './fakepve';

const API = 'infra.virtrigaud.io/v1beta1';

t.test('Proxmox faults through the reconciler', async (t) => {
  const env = await operatorEnv(t);
  const pve = await startFakePve(t);
  const registry = registerProxmoxProvider(new ProviderRegistry());
  const running = await env.start({ registry, config: testConfig([env.ns], { instances: [{ name: 'pve', driver: 'proxmox', namespaces: [env.ns], proxmox: { endpoints: [pve.url], nodes: ['pve1'], storages: ['local-lvm'], bridges: ['vmbr0'] } }] }) });
  const ns = env.ns;
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pve-creds', namespace: ns }, stringData: { tokenId: pve.tokenId, tokenSecret: pve.tokenSecret, 'ca.crt': pve.ca } });
  await env.admin.create(Kinds.Provider, { apiVersion: API, kind: 'Provider', metadata: { name: 'pve', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'pve' } }, spec: { type: 'proxmox', endpoint: pve.url, credentialSecretRef: { name: 'pve-creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } } } });
  await env.admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 1, memory: '1Gi' } });
  await env.admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'ubuntu', namespace: ns }, spec: { source: { proxmox: { templateID: pve.templateId } } } });
  const ready = (o: any) => condition(o, 'Ready')?.status === 'True';
  const named = async (name: string) => (await pve.vms()).filter((v) => v.name === name);

  await t.test('lost quorum during the create: a clear condition, one VM once quorum is back', async (t) => {
    await pve.control({ op: 'lose_quorum' });
    await env.admin.create(Kinds.VirtualMachine, { apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'q', namespace: ns }, spec: { providerRef: { name: 'pve' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On' } });
    const held = await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => /no quorum/.test(condition(o, 'Ready')?.message ?? ''), 'Ready=False naming the lost quorum', 60_000);
    const c = condition(held, 'Ready')!;
    t.equal(c.status, 'False', 'not Ready');
    t.match(c.message, /cluster not ready - no quorum\?/, `PVE's words (${c.message})`);
    t.match(c.message, /Retryable/, 'and that it is retried');
    t.same(await named('q'), [], 'nothing made without quorum');
    await pve.control({ op: 'regain_quorum' });
    const vm = await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => o.status?.phase === 'Running' && ready(o), 'Running once quorum is back', 90_000);
    t.match(vm.status.id, /^pve1\/\d+$/, `created as ${vm.status.id}`);
    t.equal((await named('q')).length, 1, 'exactly one VM on fakepve');
  });

  await t.test('its node offline (595): a clear condition, the VM kept, back to Ready when the node returns', async (t) => {
    await pve.control({ op: 'node_offline', node: 'pve1' });
    await env.admin.patch(Kinds.VirtualMachine, ns, 'q', { spec: { powerState: 'Off' } }, { type: 'merge' });
    const held = await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => /No route to host/.test(condition(o, 'Ready')?.message ?? ''), 'Ready=False naming the unreachable node', 60_000);
    t.equal(condition(held, 'Ready')!.status, 'False', `not Ready (${condition(held, 'Ready')!.message})`);
    t.match(condition(held, 'Ready')!.message, /595/, 'with the 595 status');
    t.notOk(held.metadata.deletionTimestamp, 'the VM object is kept');
    t.equal(held.status.id, (await named('q'))[0] ? `pve1/${(await named('q'))[0]!.vmid}` : 'missing', 'and its id (not taken for vanished)');
    await pve.control({ op: 'node_offline', node: 'pve1', offline: false });
    await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => o.status?.phase === 'Stopped' && ready(o), 'Stopped once the node is back', 90_000);
    t.equal((await named('q'))[0]?.status, 'stopped', 'stopped on fakepve');
    t.equal((await named('q')).length, 1, 'still one VM');
  });

  await t.test('a locked VM: a clear condition, the change applied once the lock is gone', async (t) => {
    const vmid = (await named('q'))[0]!.vmid;
    await pve.control({ op: 'lock', vmid, lock: 'backup' });
    await env.admin.patch(Kinds.VirtualMachine, ns, 'q', { spec: { resources: { cpu: 3 } } }, { type: 'merge' });
    const held = await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => /VM is locked \(backup\)/.test(JSON.stringify(o.status?.conditions ?? [])), 'a condition naming the lock', 60_000);
    t.ok(held.status.conditions.some((c: any) => c.status === 'False' && /VM is locked \(backup\)/.test(c.message)), `a False condition says the VM is locked (${held.status.conditions.map((c: any) => `${c.type}=${c.status}: ${c.message}`).join(' | ')})`);
    t.equal((await named('q'))[0]!.config.cores, '1', 'nothing changed while locked');
    await pve.control({ op: 'unlock', vmid });
    await env.waitFor(Kinds.VirtualMachine, 'q', (o: any) => o.status?.currentResources?.cpu === 3 && ready(o), 'resized once unlocked', 90_000);
    t.equal((await named('q'))[0]!.config.cores, '3', 'cores 3 on fakepve');
  });

  await t.test('the node drops off right after the clone: the retried create finishes that VM, no second one', async (t) => {
    // The clone is posted, then its task cannot be read once (595): the create fails Retryable with the clone made.
    await pve.control({ op: 'fail', method: 'GET', suffix: '/nodes/{node}/tasks/{upid}/status', status: 595, message: 'No route to host', times: 1 });
    await env.admin.create(Kinds.VirtualMachine, { apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'cut', namespace: ns }, spec: { providerRef: { name: 'pve' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On' } });
    const vm = await env.waitFor(Kinds.VirtualMachine, 'cut', (o: any) => o.status?.phase === 'Running' && ready(o), 'Running after the retry', 90_000);
    const onPve = await named('cut');
    t.equal(onPve.length, 1, 'exactly one VM on fakepve');
    t.equal(vm.status.id, `pve1/${onPve[0]!.vmid}`, `status.id is that VM (${vm.status.id})`);
    t.notMatch(onPve[0]!.config.description, /state=creating/, 'finished, not half-made');
    t.match(onPve[0]!.config.description, `virtrigaud.io/uid=${vm.metadata.uid}`, 'carrying the VM\'s uid');
    t.equal(onPve[0]!.config.memory, '1024', 'configured from the class');
  });

  await t.test('OffGraceful on a guest that ignores ACPI: PVE\'s shutdown with forceStop ends it Stopped', async (t) => {
    const vmid = (await named('cut'))[0]!.vmid;
    await pve.control({ op: 'acpi', vmid, on: false });
    await env.admin.patch(Kinds.VirtualMachine, ns, 'cut', { spec: { powerState: 'OffGraceful', lifecycle: { gracefulShutdownTimeout: '3s' } } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'cut', (o: any) => o.status?.phase === 'Stopped' && ready(o), 'Stopped', 60_000);
    t.equal((await named('cut'))[0]?.status, 'stopped', 'stopped on fakepve');
    const shutdowns = (await pve.control<{ type: string; id: string; exitstatus?: string }[]>({ op: 'tasks' })).filter((x) => x.type === 'qmshutdown' && x.id === String(vmid));
    t.equal(shutdowns.length, 1, 'one shutdown task');
    t.equal(shutdowns[0]?.exitstatus, 'OK', 'ended OK: PVE stopped the guest after the timeout (forceStop=1)');
  });

  await t.test('delete leaves nothing in fakepve', async (t) => {
    for (const name of ['q', 'cut']) await env.admin.delete(Kinds.VirtualMachine, ns, name);
    const deadline = Date.now() + 60_000;
    for (const name of ['q', 'cut']) {
      let o: any;
      while ((o = await env.admin.get(Kinds.VirtualMachine, ns, name))) {
        if (Date.now() > deadline) throw new Error(`${name} was not released: ${JSON.stringify({ finalizers: o.metadata.finalizers, status: o.status, logs: running.logs.slice(-3) })}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'no VM left');
    t.same((await pve.control<string[]>({ op: 'volumes' })).filter((v) => !/-900[01]-/.test(v)), [], 'and no volume but the templates\'');
  });
});
