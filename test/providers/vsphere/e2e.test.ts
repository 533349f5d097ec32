/**
 * The seed example (examples/manifests/vsphere-web-server.yaml) end to end:
 * the operator on the real API server, the vSphere provider in process,
 * vcsim as vCenter. Its Provider, VMClass, VMImage, network attachment and
 * VirtualMachine (placed on a datastore cluster) are applied as written,
 * except the Provider's endpoint and in-process annotation. Then: Running
 * with the moref and IPs in status, power, a refused online resize as a
 * clear condition, resize, snapshot revert, delete; and Providers whose
 * password or CA is wrong report why.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../src/testenv';
import { ProviderRegistry } from '../../../src/providers/registry';
import type { Provider } from '../../../src/providers/provider';
import { VsphereProvider, vsphereOptionsFromContext } from '../../../src/providers/vsphere';
import { readVm } from '../../../src/providers/vsphere/vm';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig } from '../../reconciler/support/env';
import { startVcsim } from './vcsim';

const KIND_TYPES: Record<string, (typeof Kinds)[keyof typeof Kinds]> = {
  Provider: Kinds.Provider, VMClass: Kinds.VMClass, VMImage: Kinds.VMImage, VMNetworkAttachment: Kinds.VMNetworkAttachment, VirtualMachine: Kinds.VirtualMachine,
};

t.test('seed vsphere-web-server on vcsim', async (t) => {
  const env = await operatorEnv(t);
  const sim = await startVcsim(t);
  const vc = sim.provider();
  t.teardown(() => vc.close());
  /** Provider calls by method, across every vsphere provider the operator built. */
  const calls: Record<string, number> = {};
  const registry = new ProviderRegistry().register('vsphere', (ctx) => counting(new VsphereProvider(vsphereOptionsFromContext(ctx)), calls));
  // The operator allows this namespace's Providers to reach this vCenter (and no other) in process.
  const running = await env.start({ registry, config: testConfig([env.ns], { instances: [{ name: 'vsphere', driver: 'vsphere', namespaces: [env.ns], vsphere: { endpoints: [sim.endpoint] } }] }) });

  await env.admin.create(CoreResources.secrets, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vsphere-creds', namespace: env.ns },
    stringData: { username: sim.username, password: sim.password, 'ca.crt': sim.ca },
  });
  const seed = parseAllDocuments(readFileSync(join(REPO_ROOT, 'examples/manifests/vsphere-web-server.yaml'), 'utf8')).map((d) => d.toJSON());
  for (const obj of seed) {
    obj.metadata.namespace = env.ns;
    if (obj.kind === 'Provider') {
      obj.metadata.annotations = { 'virtrigaud.io/in-process': 'vsphere' };
      obj.spec.endpoint = sim.endpoint;
    }
    await env.admin.create(KIND_TYPES[obj.kind]!, obj);
  }
  const running_ = (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True';

  let id = '';
  await t.test('web-server reaches Running on the datastore cluster', async (t) => {
    const vm = await env.waitFor(Kinds.VirtualMachine, 'web-server', running_, 'Running and Ready', 60_000);
    id = vm.status.id;
    t.match(id, /^vm-\d+$/, `status.id is the managed object id (${id})`);
    t.equal(vm.status.provider?.moref, id, 'status.provider carries the moref');
    t.match(vm.status.consoleURL, /\/ui\/webconsole\.html\?vmId=vm-\d+/);
    t.same(vm.status.currentResources, { cpu: 2, memoryMiB: 4096 });
    const onVc = await readVm(vc.client, id);
    t.equal(onVc.name, 'web-server');
    t.same([onVc.cpu, onVc.memoryMiB, onVc.firmware, onVc.powerState], [2, 4096, 'efi', 'poweredOn'], 'class small: 2 vCPU, 4 GiB, UEFI; powered on');
    const ds2 = (await vc.inventory.byName('Datastore', 'LocalDS_2'))[0]!.value;
    t.ok(onVc.datastores.includes(ds2), 'placed on the pod member with the most free space (LocalDS_2)');
    const folder = await vc.inventory.folder('/vm/web');
    t.equal((await vc.inventory.vmInFolder(folder, 'web-server'))?.value, id, 'in folder /vm/web');
    const data = onVc.devices.find((d) => `${d.controllerKey}:${d.unitNumber}` === onVc.extraConfig['virtrigaud.disk.data']);
    t.equal(data?.capacityKB, 100 * 1024 * 1024, 'data disk of 100 GiB');
    const provider = await env.waitFor(Kinds.Provider, 'vsphere-prod', (o: any) => o.status?.healthy === true && o.status?.connectedVMs === 1, 'healthy');
    t.equal(provider.status.reportedCapabilities.supportsLinkedClones, true, 'capabilities reported');
  });

  await t.test('IPs from guest info reach status', async (t) => {
    await sim.reportGuestIp(id, '10.100.0.15');
    const vm = await env.waitFor(Kinds.VirtualMachine, 'web-server', (o: any) => o.status?.ips?.includes('10.100.0.15'), 'ips', 20_000);
    t.same(vm.status.ips, ['10.100.0.15']);
  });

  let snapshotID = '';
  await t.test('snapshot while running', async (t) => {
    await env.admin.create(Kinds.VMSnapshot, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name: 'base', namespace: env.ns }, spec: { vmRef: { name: 'web-server' } } });
    const snap = await env.waitFor(Kinds.VMSnapshot, 'base', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready');
    snapshotID = snap.status.snapshotID;
    t.match(snapshotID, /^snapshot-\d+$/, 'snapshot id is its moref');
    t.ok((await readVm(vc.client, id)).snapshots.some((s) => s.ref.value === snapshotID && /^base-[0-9a-f]{10}$/.test(s.name)), 'on vCenter');
  });

  await t.test('resize while on without hot add: a clear condition, no retry storm', async (t) => {
    const before = calls.reconfigure ?? 0;
    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { resources: { cpu: 4, memoryMiB: 8192 } } }, { type: 'merge' });
    const vm = await env.waitFor(Kinds.VirtualMachine, 'web-server', (o: any) => /hot add is not enabled/.test(condition(o, 'Ready')?.message ?? ''), 'the refusal in Ready');
    t.match(condition(vm, 'Ready')?.message, /InvalidSpec/, condition(vm, 'Ready')?.message ?? '');
    await new Promise((r) => setTimeout(r, 3000));
    const attempts = (calls.reconfigure ?? 0) - before;
    t.ok(attempts >= 1 && attempts <= 15, `backed off: ${attempts} reconfigure attempts in ~3 s`);
    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { resources: null } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web-server', running_, 'Ready again');
  });

  await t.test('power off (preStop snapshot), resize while off, revert to the snapshot, power on', async (t) => {
    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { powerState: 'Off' } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web-server', (o: any) => o.status?.phase === 'Stopped' && condition(o, 'Ready')?.status === 'True', 'Stopped');
    let onVc = await readVm(vc.client, id);
    t.equal(onVc.powerState, 'poweredOff', 'off on vCenter');
    t.ok(onVc.snapshots.some((s) => s.name === 'pre-shutdown'), 'the preStop hook took its snapshot');

    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { resources: { cpu: 4, memoryMiB: 8192 } } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web-server', (o: any) => o.status?.currentResources?.cpu === 4 && condition(o, 'Ready')?.status === 'True', 'resized');
    onVc = await readVm(vc.client, id);
    t.same([onVc.cpu, onVc.memoryMiB], [4, 8192], 'resized on vCenter');

    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { resources: null, snapshot: { revertToRef: { name: 'base' } } } }, { type: 'merge' });
    const vm = await env.waitFor(Kinds.VirtualMachine, 'web-server', (o: any) => !!o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] && o.status?.currentResources?.cpu === 2 && condition(o, 'Ready')?.status === 'True', 'reverted');
    onVc = await readVm(vc.client, id);
    t.equal(onVc.currentSnapshot, snapshotID, 'vCenter reverted to "base"');
    t.same([onVc.cpu, onVc.memoryMiB], [2, 4096], 'the snapshot\'s size is back');
    t.same(vm.status.currentResources, { cpu: 2, memoryMiB: 4096 });

    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web-server', { spec: { powerState: 'On' } }, { type: 'merge' });
    await env.waitFor(Kinds.VirtualMachine, 'web-server', running_, 'Running again');
    t.equal((await readVm(vc.client, id)).powerState, 'poweredOn');
  });

  await t.test('vCenter errors become conditions: wrong password, wrong CA', async (t) => {
    await env.admin.create(CoreResources.secrets, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad-pass', namespace: env.ns },
      stringData: { username: sim.username, password: 'not-the-password', 'ca.crt': sim.ca },
    });
    await env.admin.create(CoreResources.secrets, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad-ca', namespace: env.ns },
      stringData: { username: sim.username, password: sim.password, 'ca.crt': sim.otherCa },
    });
    const prov = seed.find((o) => o.kind === 'Provider');
    for (const [name, secret, want] of [['vsphere-badpass', 'bad-pass', /InvalidLogin/], ['vsphere-badca', 'bad-ca', /TLS verification .* failed/]] as const) {
      await env.admin.create(Kinds.Provider, { ...prov, metadata: { name, namespace: env.ns, annotations: prov.metadata.annotations }, spec: { ...prov.spec, credentialSecretRef: { name: secret }, healthCheck: { interval: '2s' } } });
      const p = await env.waitFor(Kinds.Provider, name, (o: any) => condition(o, 'ProviderAvailable')?.status === 'False', 'ProviderAvailable=False');
      t.match(condition(p, 'ProviderAvailable')?.message, want, `${name}: ${condition(p, 'ProviderAvailable')?.message}`);
    }
    await env.admin.create(Kinds.VirtualMachine, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VirtualMachine', metadata: { name: 'locked-out', namespace: env.ns }, spec: { providerRef: { name: 'vsphere-badpass' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu-22-template' } } });
    const vm = await env.waitFor(Kinds.VirtualMachine, 'locked-out', (o: any) => /InvalidLogin/.test(condition(o, 'Ready')?.message ?? ''), 'the login failure in Ready');
    t.equal(condition(vm, 'Ready')?.status, 'False');
    t.match(condition(vm, 'Ready')?.message, /Unauthenticated/, condition(vm, 'Ready')?.message ?? '');
    t.notOk(vm.status?.id, 'nothing created');
    t.notOk(running.logs.some((l) => l.includes(sim.password)), 'the password never reaches the logs');
    await env.admin.delete(Kinds.VirtualMachine, env.ns, 'locked-out');
    await env.admin.patch(Kinds.VirtualMachine, env.ns, 'locked-out', { metadata: { annotations: { 'virtrigaud.io/force-delete': 'true' } } }, { type: 'merge' }).catch(() => undefined);
  });

  await t.test('delete', async (t) => {
    await env.admin.delete(Kinds.VirtualMachine, env.ns, 'web-server');
    const deadline = Date.now() + 60_000;
    while (await env.admin.get(Kinds.VirtualMachine, env.ns, 'web-server')) {
      if (Date.now() > deadline) throw new Error('web-server was not released');
      await new Promise((r) => setTimeout(r, 200));
    }
    t.equal((await vc.describe(id)).exists, false, 'gone from vCenter');
    t.equal((await vc.listVMs()).filter((v) => v.name === 'web-server').length, 0, 'no orphan');
  });
});

/** Counts calls per method; the operator rate-limits and wraps what the registry returns. */
function counting(p: Provider, calls: Record<string, number>): Provider {
  return new Proxy(p, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
