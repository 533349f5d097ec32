/**
 * The operator's limits are deny by default, against fakepve (template 9000
 * on pve1 with its disk on local-lvm; a second node pve2): with no nodes or
 * storages listed a VM stays on its template's node and storage, and one
 * naming another node or any storage is refused before anything is made.
 */
import t, { type Test } from 'tap';
import { createRequest, desiredPayload } from '../../../src/providers/conformance';
import { isProviderError, type CreateRequest, type PlacementPayload } from '../../../src/providers/provider';
import { awaitUpid } from '../../../src/providers/proxmox/tasks';
import { startFakePve } from './fakepve';

const placement = (p: Partial<PlacementPayload>): PlacementPayload => ({ Datastore: '', StoragePod: '', Cluster: '', Folder: '', Host: '', ...p });

t.test('Proxmox limits deny by default', async (t) => {
  const pve = await startFakePve(t);
  // The in-process shape: bridges default to [vmbr0], nodes and storages left empty.
  const p = pve.provider({ limits: { nodes: [], storages: [], bridges: ['vmbr0'] } });
  t.teardown(() => p.close());
  const named = async (name: string) => (await pve.vms()).filter((v) => v.name === name);
  const refused = async (t: Test, name: string, req: CreateRequest, re: RegExp, prov = p) => {
    const e = await prov.create(req).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), `${name}: InvalidSpec (${(e as Error).message})`);
    t.match((e as Error).message, re, `${name}: the message names the field and the rule`);
    t.same(await named(req.name), [], `${name}: no VM on fakepve`);
  };

  await t.test('a VM on the template\'s node and storage is made', async (t) => {
    const { id } = await p.create(createRequest('deny-ok'));
    t.equal(id.split('/')[0], 'pve1', 'on the template\'s node');
    const [vm] = await named('deny-ok');
    t.ok(vm, 'the VM is on fakepve');
    t.equal(vm!.node, 'pve1', 'fakepve has it on pve1');
    t.match(vm!.config.scsi0, /^local-lvm:/, 'the boot disk stayed on the template\'s storage');
    t.match(vm!.config.scsi1, /^local-lvm:/, 'the data disk went beside it');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('naming the template\'s own node is not a choice and passes', async (t) => {
    const { id } = await p.create(createRequest('deny-same-node', { placement: placement({ Cluster: 'pve1' }) }));
    t.equal((await named('deny-same-node'))[0]?.node, 'pve1', 'on pve1');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('another node is refused', async (t) => {
    await refused(t, 'placement.cluster', createRequest('deny-node', { placement: placement({ Cluster: 'pve2' }) }),
      /Create: spec\.placement\.cluster: Forbidden: node "pve2": the operator allows no nodes \(VMs stay on their template's node: "pve1"; the operator configures proxmox\.nodes in the reconciler config\)/);
    const d = pve.provider({ limits: { nodes: [], storages: [], bridges: ['vmbr0'] }, defaults: { cluster: 'pve2' } });
    t.teardown(() => d.close());
    await refused(t, 'defaults.cluster', createRequest('deny-node-default'), /Create: Provider spec\.defaults\.cluster: Forbidden: node "pve2": the operator allows no nodes/, d);
  });

  await t.test('any storage is refused, the template\'s own included', async (t) => {
    for (const s of ['nfs', 'local-lvm']) {
      await refused(t, `placement.datastore ${s}`, createRequest(`deny-store-${s}`, { placement: placement({ Datastore: s }) }),
        new RegExp(`Create: spec\\.placement\\.datastore: Forbidden: storage "${s}": the operator allows no storages \\(leave it unset to keep the template's storage; the operator configures proxmox\\.storages in the reconciler config\\)`));
    }
    const d = pve.provider({ limits: { nodes: [], storages: [], bridges: ['vmbr0'] }, defaults: { datastore: 'local' } });
    t.teardown(() => d.close());
    await refused(t, 'defaults.datastore', createRequest('deny-store-default'), /Create: Provider spec\.defaults\.datastore: Forbidden: storage "local": the operator allows no storages/, d);
  });

  await t.test('reconfigure naming a storage is refused before anything changes', async (t) => {
    const req = createRequest('deny-reconf');
    const { id } = await p.create(req);
    const e = await p.reconfigure(id, { ...desiredPayload(req, 3, 2048), Disks: [...req.disks, { SizeGiB: 2, Type: 'thin', Name: 'more' }], Placement: placement({ Datastore: 'nfs' }) }).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), 'InvalidSpec');
    t.match((e as Error).message, /Reconfigure: spec\.placement\.datastore: Forbidden: storage "nfs": the operator allows no storages/, 'the message');
    const [vm] = await named('deny-reconf');
    t.not(vm!.config.cores, '3', 'the size was not changed');
    t.equal(vm!.config.scsi2, undefined, 'no disk was added');
    await p.reconfigure(id, { ...desiredPayload(req, 3, 2048), Disks: [...req.disks, { SizeGiB: 2, Type: 'thin', Name: 'more' }] });
    const [after] = await named('deny-reconf');
    t.equal(after!.config.cores, '3', 'without a storage the reconfigure goes through');
    t.match(after!.config.scsi2, /^local-lvm:/, 'and the new disk is beside the boot disk');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('bridges: an explicitly empty list refuses every NIC', async (t) => {
    const nb = pve.provider({ limits: { nodes: [], storages: [], bridges: [] } });
    t.teardown(() => nb.close());
    await refused(t, 'default bridge', createRequest('deny-nic'), /Create: networks\[0\]\.bridge \(none given\): Forbidden: bridge "vmbr0": the operator allows no bridges/, nb);
    const net = { ...createRequest('x').networks[0]!, Bridge: 'vmbr1' };
    await refused(t, 'named bridge', createRequest('deny-nic-named', { networks: [net] }), /Create: networks\[0\]\.bridge: Forbidden: bridge "vmbr1": the operator allows no bridges/, nb);
  });

  await t.test('a provider given no limits allows nothing; "*" is the explicit opt-in', async (t) => {
    const none = pve.provider({ limits: undefined });
    t.teardown(() => none.close());
    await refused(t, 'no limits: a NIC', createRequest('deny-none'), /the operator allows no bridges/, none);
    await refused(t, 'no limits: a node', createRequest('deny-none-node', { networks: [], placement: placement({ Cluster: 'pve2' }) }), /the operator allows no nodes/, none);
    const any = pve.provider({ limits: { nodes: ['*'], storages: ['*'], bridges: ['*'] } });
    t.teardown(() => any.close());
    const { id } = await any.create(createRequest('deny-any', { placement: placement({ Cluster: 'pve2' }) }));
    t.equal(id.split('/')[0], 'pve2', 'with nodes ["*"] another node is allowed');
    t.equal((await named('deny-any'))[0]?.node, 'pve2', 'and fakepve has the VM there');
    await awaitUpid(any.client, (await any.delete(id))?.id, 'Delete');
  });

  await t.test('listed nodes and storages keep working', async (t) => {
    // local-lvm is not shared: PVE (and fakepve) clone to another node only onto the template's storage.
    const n = pve.provider({ limits: { nodes: ['pve1', 'pve2'], storages: [], bridges: ['vmbr0'] } });
    t.teardown(() => n.close());
    const a = await n.create(createRequest('deny-listed-node', { placement: placement({ Cluster: 'pve2' }) }));
    t.equal((await named('deny-listed-node'))[0]?.node, 'pve2', 'on the listed node');
    await awaitUpid(n.client, (await n.delete(a.id))?.id, 'Delete');
    await refused(t, 'unlisted node', createRequest('deny-unlisted-node', { placement: placement({ Cluster: 'pve3' }) }), /spec\.placement\.cluster: Forbidden: node "pve3" is not one the operator allows \("pve1", "pve2"\)/, n);
    const l = pve.provider({ limits: { nodes: ['pve1'], storages: ['local-lvm'], bridges: ['vmbr0'] } });
    t.teardown(() => l.close());
    const { id } = await l.create(createRequest('deny-listed', { placement: placement({ Datastore: 'local-lvm' }) }));
    const [vm] = await named('deny-listed');
    t.equal(vm?.node, 'pve1', 'on pve1');
    t.match(vm!.config.scsi1, /^local-lvm:/, 'data disk on the listed storage');
    await awaitUpid(l.client, (await l.delete(id))?.id, 'Delete');
    await refused(t, 'unlisted storage', createRequest('deny-unlisted-store', { placement: placement({ Datastore: 'nfs' }) }), /spec\.placement\.datastore: Forbidden: storage "nfs" is not one the operator allows \("local-lvm"\)/, l);
    const only1 = pve.provider({ limits: { nodes: ['pve2'], storages: ['local-lvm'], bridges: ['vmbr0'] } });
    t.teardown(() => only1.close());
    await refused(t, 'template on an unlisted node', createRequest('deny-tmpl-node'), /Create: image \(template 9000 is on node pve1\): Forbidden: node "pve1" is not one the operator allows \("pve2"\)/, only1);
  });

  t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'nothing left in fakepve');
});
