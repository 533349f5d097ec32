/**
 * The reconciler end to end on the real API server with the Proxmox
 * provider in process and fakepve as the cluster (verified HTTPS, API
 * token): Provider, VMClass, VMImage `source.proxmox`, VMNetworkAttachment
 * `network.proxmox`, VirtualMachine -> Running, power, resize, snapshot and
 * revert, delete leaving nothing in fakepve.
 */
import t from 'tap';
import { ProviderRegistry } from '../../../src/providers/registry';
import { registerProxmoxProvider } from '../../../src/providers/proxmox';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig } from '../../reconciler/support/env';
import { startFakePve } from './fakepve';

const API = 'infra.virtrigaud.io/v1beta1';

t.test('Proxmox VM through the reconciler on fakepve', async (t) => {
  const env = await operatorEnv(t);
  const pve = await startFakePve(t);
  const registry = registerProxmoxProvider(new ProviderRegistry());
  const running = await env.start({ registry, config: testConfig([env.ns], { instances: [{ name: 'pve', driver: 'proxmox', namespaces: [env.ns], proxmox: { endpoints: [pve.url], nodes: ['pve1'], storages: ['local-lvm'], bridges: ['vmbr0', 'vmbr1'] } }] }) });
  const ns = env.ns;
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pve-creds', namespace: ns }, stringData: { tokenId: pve.tokenId, tokenSecret: pve.tokenSecret, 'ca.crt': pve.ca } });
  await env.admin.create(Kinds.Provider, { apiVersion: API, kind: 'Provider', metadata: { name: 'pve', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'pve' } }, spec: { type: 'proxmox', endpoint: pve.url, credentialSecretRef: { name: 'pve-creds' }, defaults: { datastore: 'local-lvm' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } } } });
  await env.admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 2, memory: '2Gi' } });
  await env.admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'ubuntu', namespace: ns }, spec: { source: { proxmox: { templateID: pve.templateId, node: 'pve1', fullClone: true } } } });
  await env.admin.create(Kinds.VMNetworkAttachment, { apiVersion: API, kind: 'VMNetworkAttachment', metadata: { name: 'lan', namespace: ns }, spec: { network: { proxmox: { bridge: 'vmbr1', model: 'virtio', vlanTag: 30, firewall: true, mtu: 9000 } }, qos: { ingressLimit: 100_000_000, egressLimit: 50_000_000 } } });
  await env.admin.create(Kinds.VirtualMachine, { apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'web', namespace: ns }, spec: { providerRef: { name: 'pve' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On', networks: [{ name: 'lan', networkRef: { name: 'lan' } }], disks: [{ name: 'data', sizeGiB: 5 }] } });
  const ready = (o: any) => condition(o, 'Ready')?.status === 'True';
  const fakeVm = async () => (await pve.vms()).find((v) => v.name === 'web');

  let id = '';
  await t.test('Running, with the NIC and disk on fakepve', async (t) => {
    const vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running' && ready(o), 'Running and Ready', 90_000);
    id = vm.status.id;
    t.match(id, /^pve1\/\d+$/, `status.id is node/vmid (${id})`);
    const f = (await fakeVm())!;
    t.equal(f.status, 'running', 'running on fakepve');
    t.match(f.config.net0, /bridge=vmbr1/, 'bridge from network.proxmox');
    t.match(f.config.net0, /tag=30/, 'VLAN tag from network.proxmox');
    t.match(f.config.net0, /(^|,)firewall=1(,|$)/, 'PVE firewall on the NIC from network.proxmox.firewall');
    t.match(f.config.net0, /(^|,)mtu=9000(,|$)/, 'MTU from network.proxmox.mtu');
    t.match(f.config.net0, /(^|,)rate=5\.96(,|$)/, 'qos limits as the NIC rate (the tighter, 50 Mbit/s, in MiB/s)');
    t.equal(f.config.memory, '2048', 'memory from the class');
    t.ok(f.config.scsi1, 'data disk added');
  });

  await t.test('power off and on', async (t) => {
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { powerState: 'Off' } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Stopped' && ready(o), 'Stopped', 60_000);
    t.equal((await fakeVm())!.status, 'stopped', 'stopped on fakepve');
  });

  await t.test('snapshot, resize while off, revert', async (t) => {
    await env.admin.create(Kinds.VMSnapshot, { apiVersion: API, kind: 'VMSnapshot', metadata: { name: 'base', namespace: ns }, spec: { vmRef: { name: 'web' } } });
    const snap = await env.waitFor(Kinds.VMSnapshot, 'base', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready', 60_000);
    t.ok((await fakeVm())!.snapshots.includes(snap.status.snapshotID), `snapshot ${snap.status.snapshotID} on fakepve`);
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { resources: { cpu: 4, memoryMiB: 4096 } } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.currentResources?.cpu === 4 && ready(o), 'resized', 60_000);
    t.same([(await fakeVm())!.config.cores, (await fakeVm())!.config.memory], ['4', '4096'], 'resized on fakepve');
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { resources: null, snapshot: { revertToRef: { name: 'base' } } } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => !!o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] && o.status?.currentResources?.cpu === 2 && ready(o), 'reverted', 60_000);
    t.same([(await fakeVm())!.config.cores, (await fakeVm())!.config.memory], ['2', '2048'], 'the snapshot\'s size is back');
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { powerState: 'On' } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running' && ready(o), 'Running again', 60_000);
  });

  await t.test('a resize of the running VM lands in pending: the status says so until a restart applies it', async (t) => {
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { resources: { memoryMiB: 3072 } } }, { type: 'merge' });
    const pending = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => /memory/.test(o.status?.provider?.pendingChanges ?? ''), 'status.provider.pendingChanges names memory', 60_000);
    t.match(pending.status.provider.pendingReason, /apply at its next restart/, `status.provider.pendingReason: ${pending.status.provider.pendingReason}`);
    const held = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Reconfiguring' && c.reason === 'PendingRestart' && c.status === 'True'), 'Reconfiguring=True/PendingRestart', 60_000);
    t.match(held.status.conditions.find((c: any) => c.type === 'Reconfiguring').message, /pending on the provider: .*memory/, 'the condition names what waits for a restart');
    const f = (await fakeVm())!;
    t.same([f.config.memory, f.pending.memory], ['2048', '3072'], 'fakepve: 2048 in effect, 3072 pending');
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { powerState: 'Off' } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Stopped' && ready(o), 'Stopped', 60_000);
    await env.admin.patch(Kinds.VirtualMachine, ns, 'web', { spec: { powerState: 'On' } }, { type: 'merge' });
    const after = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running' && ready(o) && !o.status?.provider?.pendingChanges, 'Running with nothing pending', 60_000);
    t.notOk(after.status.provider.pendingChanges, 'nothing pending after the restart');
    const cleared = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Reconfiguring' && c.status === 'False'), 'Reconfiguring=False', 60_000);
    t.equal(cleared.status.conditions.find((c: any) => c.type === 'Reconfiguring').reason, 'ReconcileSuccess');
    t.equal((await fakeVm())!.config.memory, '3072', 'the memory is in effect on fakepve');
  });

  await t.test('delete leaves nothing in fakepve', async (t) => {
    await env.admin.delete(Kinds.VMSnapshot, ns, 'base').catch(() => undefined);
    await env.admin.delete(Kinds.VirtualMachine, ns, 'web');
    const deadline = Date.now() + 60_000;
    while (await env.admin.get(Kinds.VirtualMachine, ns, 'web')) {
      if (Date.now() > deadline) throw new Error('web was not released');
      await new Promise((r) => setTimeout(r, 200));
    }
    t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'no VM left');
    t.same((await pve.control<string[]>({ op: 'volumes' })).filter((v) => !/-900[01]-/.test(v)), [], 'and no volume but the templates\'');
    t.notOk(running.logs.some((l) => l.includes(pve.tokenSecret)), 'the token secret never reaches the logs');
  });
});
