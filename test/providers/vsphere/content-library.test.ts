/**
 * Create from a content library item against vcsim: the fixture makes a
 * local library on LocalDS_0 and a VM-template item from the seed template
 * over vAPI REST (what vcsim v0.56.0 implements); the provider finds it by
 * names from the image's `contentlib://` TemplateName, deploys it and
 * configures the VM like a clone (the uid included). A name already taken
 * is refused, never taken over. Unknown names are InvalidSpec naming them.
 * End to end: a VMImage with `source.vsphere.contentLibrary` → Running.
 */
import t from 'tap';
import { createRequest } from '../../../src/providers/conformance';
import { ProviderError, type CreateRequest } from '../../../src/providers/provider';
import { isNic } from '../../../src/providers/vsphere/devices';
import { deployLibraryItem, findLibraryItem } from '../../../src/providers/vsphere/library';
import { formatLibraryRef } from '../../../src/providers/vsphere/library-ref';
import { taskRef, waitTask } from '../../../src/providers/vsphere/soap';
import { readVm } from '../../../src/providers/vsphere/vm';
import { ProviderRegistry } from '../../../src/providers/registry';
import { VsphereProvider, vsphereOptionsFromContext } from '../../../src/providers/vsphere';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig } from '../../reconciler/support/env';
import { startVcsim, type Vcsim } from './vcsim';

const category = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ProviderError ? `${e.category}: ${e.message}` : `foreign: ${String(e)}`));

/** A local library `golden` with VM-template item `ubuntu-jammy` made from the seed template. */
export async function libraryFixture(sim: Vcsim): Promise<{ library: string; item: string; itemId: string }> {
  const p = sim.provider();
  try {
    const ds = (await p.inventory.byName('Datastore', 'LocalDS_0'))[0]!;
    const lib = await p.vapi.call<string>('POST', '/rest/com/vmware/content/local-library', {
      create_spec: { name: 'golden', type: 'LOCAL', storage_backings: [{ type: 'DATASTORE', datastore_id: ds.value }] },
    }, 'Fixture');
    const [source] = await p.inventory.vmsNamed('tmpl-ubuntu-22.04-cloudimg');
    const folder = await p.inventory.folder('');
    const { pool } = await p.inventory.compute({ cluster: 'Compute-Cluster', resourcePool: '', folder: '', host: '', datastore: '', storagePod: '' });
    const itemId = await p.vapi.call<string>('POST', '/rest/vcenter/vm-template/library-items', {
      spec: { name: 'ubuntu-jammy', library: lib, source_vm: source!.value, placement: { folder: folder.value, resource_pool: pool.value } },
    }, 'Fixture');
    return { library: 'golden', item: 'ubuntu-jammy', itemId };
  } finally {
    await p.close();
  }
}

t.test('create from a content library item (vcsim)', async (t) => {
  const sim = await startVcsim(t);
  const fx = await libraryFixture(sim);
  const p = sim.provider({ defaults: { storagePod: 'DatastoreCluster-SSD', folder: '/vm/web', cluster: 'Compute-Cluster' } });
  t.teardown(() => p.close());
  const image = (library: string, item: string) => ({ ...createRequest('x').image, TemplateName: formatLibraryRef({ library, item }) });
  const req = (name: string, over: Partial<CreateRequest> = {}) => createRequest(name, {
    image: image(fx.library, fx.item),
    class: { ...createRequest('x').class, CPU: 3, MemoryMiB: 3072, Firmware: 'UEFI', DiskDefaults: { Type: 'thin', SizeGiB: 0 } },
    networks: [{ ...createRequest('x').networks[0]!, NetworkName: '', Portgroup: 'PG-App-VLAN100', Model: 'vmxnet3' }],
    userData: '#cloud-config\nhostname: lib\n',
    ...over,
  });

  let id = '';
  await t.test('deployed, configured like a clone, powered on when asked', async (t) => {
    const r = await p.create(req('from-lib'));
    if (r.task) await waitTask(p.client, taskRef(r.task.id), 'Create');
    id = r.id;
    t.match(id, /^vm-\d+$/, `moref ${id}`);
    const vm = await readVm(p.client, id);
    t.equal(vm.name, 'from-lib');
    t.equal(vm.template, false, 'a VM, not a template');
    t.same([vm.cpu, vm.memoryMiB, vm.firmware], [3, 3072, 'efi'], 'class applied: 3 vCPU, 3 GiB, UEFI');
    t.equal(vm.powerState, 'poweredOff', 'left off for the reconciler');
    const nics = vm.devices.filter(isNic);
    t.equal(nics.length, 1, 'the VM\'s one network replaces the template\'s NICs');
    t.match(nics[0]?.type, /VirtualVmxnet3/);
    const data = vm.devices.find((d) => `${d.controllerKey}:${d.unitNumber}` === vm.extraConfig['virtrigaud.disk.data']);
    t.equal(data?.capacityKB, 10 * 1024 * 1024, 'data disk of 10 GiB');
    t.equal(Buffer.from(vm.extraConfig['guestinfo.userdata'] ?? '', 'base64').toString(), '#cloud-config\nhostname: lib\n', 'cloud-init user-data');
    const ds2 = (await p.inventory.byName('Datastore', 'LocalDS_2'))[0]!.value;
    t.ok(vm.datastores.includes(ds2), 'on the datastore cluster member with the most free space (LocalDS_2)');
    const folder = await p.inventory.folder('/vm/web');
    t.equal((await p.inventory.vmInFolder(folder, 'from-lib'))?.value, id, 'in folder /vm/web');

    const on = await p.power(id, 'On', 0);
    if (on) await waitTask(p.client, taskRef(on.id), 'Power');
    t.equal((await readVm(p.client, id)).powerState, 'poweredOn', 'powered on');
  });

  await t.test('a static NIC address on a deployed item: customized on the powered-off VM, the guest has it after power-on', async (t) => {
    const base = createRequest('x').networks[0]!;
    const r = await p.create(req('lib-ip', { networks: [{ ...base, NetworkName: '', Portgroup: 'PG-App-VLAN100', Model: 'vmxnet3', IPPolicy: 'static', StaticIP: '10.30.0.8', Prefix: 24, Gateway: '10.30.0.1', DNS: '' }] }));
    if (r.task) await waitTask(p.client, taskRef(r.task.id), 'Create');
    const on = await p.power(r.id, 'On', 0);
    if (on) await waitTask(p.client, taskRef(on.id), 'Power');
    t.ok((await p.describe(r.id)).ips.includes('10.30.0.8'), 'the guest reports the static address');
    const off = await p.delete(r.id);
    if (off) await waitTask(p.client, taskRef(off.id), 'Delete');
  });

  await t.test('not idempotent by name: a second create is refused and the first VM left alone', async (t) => {
    const before = await readVm(p.client, id);
    t.equal(await category(p.create(req('from-lib', { uid: '5a6b7c8d-0000-4000-8000-00000000000b' }))), `InvalidSpec: Create: a VM named "from-lib" already exists (id ${id})`);
    const after = await readVm(p.client, id);
    t.same([after.powerState, after.cpu, after.extraConfig['virtrigaud.uid']], [before.powerState, before.cpu, before.extraConfig['virtrigaud.uid']], 'untouched');
  });

  await t.test('the uid is in extraConfig from the configure step; describe and listVMs report it', async (t) => {
    const uid = '7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b';
    const r = await p.create(req('lib-uid', { uid }));
    if (r.task) await waitTask(p.client, taskRef(r.task.id), 'Create');
    t.equal((await readVm(p.client, r.id)).extraConfig['virtrigaud.uid'], uid, 'extraConfig virtrigaud.uid');
    t.equal((await p.describe(r.id)).uid, uid, 'describe');
    t.equal((await p.listVMs()).find((v) => v.id === r.id)?.uid, uid, 'listVMs');
    t.equal((await p.describe(id)).uid, undefined, 'a VM created without a uid has none');
  });

  await t.test('a VM of that name deployed by someone else is refused, not taken over', async (t) => {
    const folder = await p.inventory.folder('/vm/web');
    const { pool } = await p.inventory.compute({ cluster: 'Compute-Cluster', resourcePool: '', folder: '', host: '', datastore: '', storagePod: '' });
    const item = await findLibraryItem(p.vapi, { library: fx.library, item: fx.item });
    const foreign = await deployLibraryItem(p.vapi, item, { name: 'half-done', folder, pool });
    const before = await readVm(p.client, foreign);
    t.equal(await category(p.create(req('half-done', { uid: '0b1c2d3e-0000-4000-8000-00000000000c' }))), `InvalidSpec: Create: a VM named "half-done" already exists (id ${foreign})`);
    const vm = await readVm(p.client, foreign);
    t.same([vm.cpu, vm.memoryMiB, vm.extraConfig['virtrigaud.managed'], vm.extraConfig['virtrigaud.uid']], [before.cpu, before.memoryMiB, undefined, undefined], 'not configured, no uid');
  });

  await t.test('a deploy whose configure step fails is removed (no uid-less VM blocks the name)', async (t) => {
    const bad = req('bad-net', { uid: '1c2d3e4f-0000-4000-8000-00000000000d', networks: [{ ...createRequest('x').networks[0]!, NetworkName: '', Portgroup: 'no-such-portgroup' }] });
    t.match(await category(p.create(bad)), /no-such-portgroup/, 'the configure step fails');
    const folder = await p.inventory.folder('/vm/web');
    t.equal(await p.inventory.vmInFolder(folder, 'bad-net'), undefined, 'the deployed VM is gone');
  });

  await t.test('unknown library or item: InvalidSpec naming it', async (t) => {
    t.match(await category(p.create(req('nolib', { image: image('no-such-library', fx.item) }))), /^InvalidSpec: .*content library "no-such-library" not found/);
    t.match(await category(p.create(req('noitem', { image: image(fx.library, 'no-such-item') }))), /^InvalidSpec: .*item "no-such-item" not found in content library "golden"/);
    t.match(await category(p.create(req('bad', { image: { ...image('a', 'b'), TemplateName: 'contentlib://just-one' } }))), /^InvalidSpec: .*contentlib:\/\/<library>\/<item>/);
  });

  await t.test('ImagePrepare resolves the item', async (t) => {
    const r = await p.imagePrepare({ imageJson: JSON.stringify({ source: { vsphere: { contentLibrary: { library: 'golden', item: 'ubuntu-jammy' } } } }), targetName: '', storageHint: '' });
    t.same(r, { preparedImageId: fx.itemId, preparedImagePath: 'contentlib://golden/ubuntu-jammy' });
  });
});

t.test('operator: a VMImage with source.vsphere.contentLibrary reaches Running', async (t) => {
  const env = await operatorEnv(t);
  const sim = await startVcsim(t);
  await libraryFixture(sim);
  const vc = sim.provider();
  t.teardown(() => vc.close());
  await env.start({
    registry: new ProviderRegistry().register('vsphere', (ctx) => new VsphereProvider(vsphereOptionsFromContext(ctx))),
    config: testConfig([env.ns], { instances: [{ name: 'vsphere', driver: 'vsphere', namespaces: [env.ns], vsphere: { endpoints: [sim.endpoint] } }] }),
  });
  const meta = (name: string, extra: object = {}) => ({ name, namespace: env.ns, ...extra });
  const api = 'infra.virtrigaud.io/v1beta1';
  await env.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: meta('vsphere-creds'), stringData: { username: sim.username, password: sim.password, 'ca.crt': sim.ca } });
  await env.admin.create(Kinds.Provider, {
    apiVersion: api, kind: 'Provider', metadata: meta('vsphere', { annotations: { 'virtrigaud.io/in-process': 'vsphere' } }),
    spec: { type: 'vsphere', endpoint: sim.endpoint, credentialSecretRef: { name: 'vsphere-creds' }, defaults: { cluster: 'Compute-Cluster', storagePod: 'DatastoreCluster-SSD' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere:v0.3.3', service: { port: 9443 } } },
  });
  await env.admin.create(Kinds.VMClass, { apiVersion: api, kind: 'VMClass', metadata: meta('small'), spec: { cpu: 2, memory: '4Gi', firmware: 'UEFI' } });
  await env.admin.create(Kinds.VMImage, { apiVersion: api, kind: 'VMImage', metadata: meta('jammy-lib'), spec: { source: { vsphere: { contentLibrary: { library: 'golden', item: 'ubuntu-jammy' } } } } });
  await env.admin.create(Kinds.VirtualMachine, {
    apiVersion: api, kind: 'VirtualMachine', metadata: meta('lib-vm'),
    spec: { providerRef: { name: 'vsphere' }, classRef: { name: 'small' }, imageRef: { name: 'jammy-lib' }, powerState: 'On' },
  });
  const vm = await env.waitFor(Kinds.VirtualMachine, 'lib-vm', (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running and Ready', 60_000);
  const onVc = await readVm(vc.client, vm.status.id);
  t.same([onVc.name, onVc.template, onVc.cpu, onVc.memoryMiB, onVc.firmware, onVc.powerState], ['lib-vm', false, 2, 4096, 'efi', 'poweredOn'], `deployed from the library and running (${vm.status.id})`);
});
