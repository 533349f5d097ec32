/**
 * The vSphere provider against vcsim beyond conformance: authentication
 * and TLS failures, task errors, hot-add rules, datastore cluster
 * placement and precedence, guest info (cloud-init, IPs), an unreachable
 * vCenter.
 */
import t from 'tap';
import { createRequest } from '../../../src/providers/conformance';
import { ProviderError, type CreateRequest } from '../../../src/providers/provider';
import { configSpec } from '../../../src/providers/vsphere/config';
import { moRef, retrieveOne, taskRef, waitTask } from '../../../src/providers/vsphere/soap';
import { readVm } from '../../../src/providers/vsphere/vm';
import { startVcsim } from './vcsim';

const category = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ProviderError ? `${e.category}: ${e.message}` : `foreign: ${String(e)}`));
const placement = (over: Partial<NonNullable<CreateRequest['placement']>>) => ({ Datastore: '', StoragePod: '', Cluster: '', Folder: '', Host: '', ...over });

t.test('vSphere provider against vcsim', async (t) => {
  const sim = await startVcsim(t);
  const p = sim.provider();
  t.teardown(() => p.close());
  /** Create and wait for its task. */
  const make = async (req: CreateRequest, prov = p) => {
    const r = await prov.create(req);
    if (r.task) await waitTask(prov.client, taskRef(r.task.id), 'Create');
    return r;
  };

  await t.test('wrong password: Unauthenticated, validate says so', async (t) => {
    const bad = sim.provider({ password: 'wrong' });
    t.teardown(() => bad.close());
    const v = await bad.validate();
    t.equal(v.ok, false, 'validate fails');
    t.match(v.message, /InvalidLogin/, `message names the fault (${v.message})`);
    t.match(await category(bad.listVMs()), /^Unauthenticated: .*InvalidLogin/);
    t.notMatch(v.message, new RegExp(sim.password.replace(/[^\w]/g, '.')), 'the password is not in the message');
  });

  await t.test('TLS: verified against ca.crt; a wrong CA or the system CAs fail clearly; insecureSkipVerify skips', async (t) => {
    for (const [name, over] of [['unrelated CA', { ca: sim.otherCa }], ['system CAs', { ca: undefined }]] as const) {
      const bad = sim.provider(over);
      t.teardown(() => bad.close());
      const got = await category(bad.listVMs());
      t.match(got, /^Unauthenticated: .*TLS verification of 127\.0\.0\.1:\d+ failed .*ca\.crt.*insecureSkipVerify/, `${name}: ${got}`);
      t.equal((await bad.validate()).ok, false, `${name}: validate fails`);
    }
    const skip = sim.provider({ ca: sim.otherCa, insecureSkipVerify: true });
    t.teardown(() => skip.close());
    t.equal((await skip.validate()).ok, true, 'insecureSkipVerify connects');
  });

  await t.test('tasks: an error is reported by taskStatus; power is idempotent', async (t) => {
    const { id } = await make(createRequest('task-err'));
    await waitTask(p.client, taskRef((await p.power(id, 'On', 0))!.id), 'Power');
    t.equal(await p.power(id, 'On', 0), undefined, 'On when on: nothing to do, no task');
    // Straight to vCenter: a second PowerOnVM_Task fails inside the task.
    const task = moRef(await p.client.call('PowerOnVM_Task', { type: 'VirtualMachine', value: id }));
    let s = await p.taskStatus({ id: task!.value });
    for (let i = 0; !s.done && i < 50; i++) s = await p.taskStatus({ id: task!.value });
    t.equal(s.done, true, 'task done');
    t.match(s.error, /^InvalidPowerState/, `task error names the fault (${s.error})`);
    t.same(await p.taskStatus({ id: 'task-999999' }), { done: true }, 'a task vCenter forgot has ended');
    t.match(await category(p.taskStatus({ id: 'no-such-task' })), /^NotFound/, 'an id that is no task');
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('reconfigure: refused online without hot add, done online with it, disks grow', async (t) => {
    const req = createRequest('hot', { disks: [{ SizeGiB: 10, Type: 'thin', Name: 'data' }] });
    const { id } = await make(req);
    await waitTask(p.client, taskRef((await p.power(id, 'On', 0))!.id), 'Power');
    const desired = (cpu: number, mem: number, dataGiB = 10) => ({
      Name: req.name, Class: { ...req.class, CPU: cpu, MemoryMiB: mem }, Image: req.image, Networks: [...req.networks],
      Disks: [{ SizeGiB: dataGiB, Type: 'thin', Name: 'data' }, { SizeGiB: 5, Type: 'thin', Name: 'logs' }], UserData: null, MetaData: null, Placement: null, Tags: [],
    });
    t.match(await category(p.reconfigure(id, desired(4, 2048))), /^InvalidSpec: .*CPU hot add is not enabled.*power it off/, 'CPU hot add off');
    await waitTask(p.client, taskRef((await p.power(id, 'Off', 0))!.id), 'Power');
    const hotClass = { ...req.class, PerformanceProfile: { CPUHotAddEnabled: true, MemoryHotAddEnabled: true } };
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');

    const { id: hot } = await make({ ...req, name: 'hot2', class: hotClass });
    await waitTask(p.client, taskRef((await p.power(hot, 'On', 0))!.id), 'Power');
    await waitTask(p.client, taskRef((await p.reconfigure(hot, { ...desired(4, 4096, 20), Class: { ...hotClass, CPU: 4, MemoryMiB: 4096 } }))!.id), 'Reconfigure');
    const vm = await readVm(p.client, hot);
    t.same([vm.cpu, vm.memoryMiB, vm.powerState], [4, 4096, 'poweredOn'], 'grown while on');
    const disk = (name: string) => vm.devices.find((d) => `${d.controllerKey}:${d.unitNumber}` === vm.extraConfig[`virtrigaud.disk.${name}`]);
    t.equal(disk('data')?.capacityKB, 20 * 1024 * 1024, 'data disk grown to 20 GiB');
    t.equal(disk('logs')?.capacityKB, 5 * 1024 * 1024, 'new disk "logs" added');
    t.match(await category(p.reconfigure(hot, { ...desired(2, 4096, 20), Class: { ...hotClass, CPU: 2, MemoryMiB: 4096 } })), /^InvalidSpec: .*cannot remove CPUs/, 'no hot remove');
    t.equal(await p.reconfigure(hot, { ...desired(4, 4096, 1), Class: { ...hotClass, CPU: 4, MemoryMiB: 4096 } }), undefined, 'a smaller disk is a no-op');
    await waitTask(p.client, taskRef((await p.delete(hot))!.id), 'Delete');
  });

  await t.test('storagePod: the member with the most free space; precedence of datastore settings', async (t) => {
    const ds = async (name: string) => (await p.inventory.byName('Datastore', name))[0]!.value;
    const [ds1, ds2] = [await ds('LocalDS_1'), await ds('LocalDS_2')];
    const choice = await p.inventory.fromStoragePod('DatastoreCluster-SSD');
    t.equal(choice.name, 'LocalDS_2', `most free space (${choice.freeSpace} bytes)`);

    const placed = async (name: string, req: Partial<CreateRequest>, defaults: Record<string, string> = {}) => {
      const prov = sim.provider({ defaults });
      t.teardown(() => prov.close());
      const { id } = await make(createRequest(name, req), prov);
      const vm = await readVm(p.client, id);
      await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
      return vm.datastores;
    };
    t.ok((await placed('pod', { placement: placement({ StoragePod: 'DatastoreCluster-SSD', Cluster: 'Compute-Cluster', Folder: '/vm/web' }) })).includes(ds2), 'placement.storagePod -> LocalDS_2');
    t.ok((await placed('pinned', { placement: placement({ StoragePod: 'DatastoreCluster-SSD', Datastore: 'LocalDS_1' }) })).includes(ds1), 'placement.datastore beats placement.storagePod');
    t.ok((await placed('dflt', {}, { storagePod: 'DatastoreCluster-SSD', datastore: 'LocalDS_1' })).includes(ds2), 'defaults.storagePod beats defaults.datastore');
    t.ok((await placed('dflt2', { placement: placement({ StoragePod: '' }) }, { datastore: 'LocalDS_1' })).includes(ds1), 'defaults.datastore last');
    t.match(await category(p.create(createRequest('nopod', { placement: placement({ StoragePod: 'NoSuchPod' }) }))), /^InvalidSpec: .*NoSuchPod/, 'unknown pod');
    t.match(await category(p.create(createRequest('nofolder', { placement: placement({ Folder: '/vm/nope' }) }))), /^InvalidSpec: .*folder/, 'unknown folder');
    t.match(await category(p.create(createRequest('nonet', { networks: [{ ...createRequest('x').networks[0]!, NetworkName: 'no-such-net' }] }))), /^InvalidSpec: .*no-such-net/, 'unknown network');
    t.match(await category(p.create(createRequest('notmpl', { image: { ...createRequest('x').image, TemplateName: 'nope' } }))), /^InvalidSpec: .*template "nope"/, 'unknown template');
  });

  await t.test('guest info: cloud-init as guestinfo, IPs and console URL in describe', async (t) => {
    const { id } = await make(createRequest('guest', { userData: '#cloud-config\nhostname: guest\n' }));
    const vm = await readVm(p.client, id);
    t.equal(Buffer.from(vm.extraConfig['guestinfo.userdata'] ?? '', 'base64').toString(), '#cloud-config\nhostname: guest\n', 'user-data');
    t.equal(vm.extraConfig['guestinfo.userdata.encoding'], 'base64');
    t.match(Buffer.from(vm.extraConfig['guestinfo.metadata'] ?? '', 'base64').toString(), /local-hostname: guest/, 'meta-data');
    await waitTask(p.client, taskRef((await p.power(id, 'On', 0))!.id), 'Power');
    await sim.reportGuestIp(id, '10.20.30.40');
    const d = await p.describe(id);
    t.same(d.ips, ['10.20.30.40'], 'IP from guest info');
    t.match(d.consoleURL, new RegExp(`^https://127\\.0\\.0\\.1:\\d+/ui/webconsole\\.html\\?vmId=${id}&`), d.consoleURL);
    t.equal(d.providerRaw.moref, id);
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('placement.host and placement.resourcePool: the VM lands on that host, in that pool; unknown ones are InvalidSpec', async (t) => {
    const { id } = await make(createRequest('pinned-host', { placement: placement({ Cluster: 'Compute-Cluster', Host: 'DC0_C0_H1', ResourcePool: 'Production' }) }));
    const got = await retrieveOne(p.client, { type: 'VirtualMachine', value: id }, ['runtime.host', 'resourcePool']);
    const [host] = await p.inventory.byName('HostSystem', 'DC0_C0_H1');
    const pool = await p.inventory.path('host/Compute-Cluster/Resources/Production');
    t.equal(moRef(got['runtime.host'])?.value, host!.value, 'on host DC0_C0_H1');
    t.equal(moRef(got.resourcePool)?.value, pool!.value, 'in resource pool Production');
    t.match(await category(p.create(createRequest('nohost', { placement: placement({ Cluster: 'Compute-Cluster', Host: 'no-such-host' }) }))), /^InvalidSpec: .*host "no-such-host" not found/);
    t.match(await category(p.create(createRequest('nopool', { placement: placement({ Cluster: 'Compute-Cluster', ResourcePool: 'Gold' }) }))), /^InvalidSpec: .*resource pool "Gold" not found in Compute-Cluster/);
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('a static NIC address goes into guest customization and the guest has it after power-on', async (t) => {
    const nic = { ...createRequest('x').networks[0]!, NetworkName: 'VM Network', Model: 'vmxnet3' };
    const { id } = await make(createRequest('fixed-ip', {
      networks: [{ ...nic, Name: 'eth0', IPPolicy: 'static', StaticIP: '10.30.0.7', Prefix: 24, Gateway: '10.30.0.1', DNS: '10.30.0.53' }, { ...nic, Name: 'eth1' }],
    }));
    await waitTask(p.client, taskRef((await p.power(id, 'On', 0))!.id), 'Power');
    const d = await p.describe(id);
    t.ok(d.ips.includes('10.30.0.7'), `the guest reports the static address (${d.ips.join(', ')})`);
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('an Ignition config goes to guestinfo.ignition.config.data, not to cloud-init\'s keys', async (t) => {
    const doc = '{"ignition":{"version":"3.4.0"}}';
    const { id } = await make(createRequest('ign', { userData: doc, userDataFormat: 'ignition' }));
    const vm = await readVm(p.client, id);
    t.equal(Buffer.from(vm.extraConfig['guestinfo.ignition.config.data'] ?? '', 'base64').toString(), doc);
    t.equal(vm.extraConfig['guestinfo.ignition.config.data.encoding'], 'base64');
    t.equal(vm.extraConfig['guestinfo.userdata'], undefined, 'not as cloud-init user-data');
    await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('uid: extraConfig virtrigaud.uid, never inherited from a template or a clone source', async (t) => {
    const cls = { ...createRequest('x').class, ExtraConfig: { 'virtrigaud.uid': 'class-cannot-set-it' } };
    const src = await make(createRequest('uid-src', { uid: 'aa11bb22-0000-4000-8000-000000000001', class: cls }));
    const srcVm = await readVm(p.client, src.id);
    t.equal(srcVm.extraConfig['virtrigaud.uid'], 'aa11bb22-0000-4000-8000-000000000001', 'the create\'s uid wins over a class extraConfig key');
    t.notOk(Object.keys(srcVm.extraConfig).some((k) => k.startsWith('guestinfo.') && srcVm.extraConfig[k]!.includes('aa11bb22')), 'not in a guest-writable guestinfo key');
    await p.client.call('MarkAsTemplate', srcVm.ref, {});
    const plain = await make(createRequest('uid-none', { image: { ...createRequest('x').image, TemplateName: 'uid-src' } }));
    t.equal((await readVm(p.client, plain.id)).extraConfig['virtrigaud.uid'], undefined, 'a VM from a template with a uid does not get it');
    t.equal((await p.describe(plain.id)).uid, undefined, 'describe: no uid');
    const own = await make(createRequest('uid-own', { uid: 'cc33dd44-0000-4000-8000-000000000002', image: { ...createRequest('x').image, TemplateName: 'uid-src' } }));
    t.equal((await p.describe(own.id)).uid, 'cc33dd44-0000-4000-8000-000000000002', 'a VM from it gets its own uid');
    const clone = await p.clone({ sourceVmId: own.id, targetName: 'uid-own-copy', linked: false, classJson: '', placementJson: '', customizeJson: '' });
    if (clone.task) await waitTask(p.client, taskRef(clone.task.id), 'Clone');
    t.equal((await readVm(p.client, clone.targetVmId)).extraConfig['virtrigaud.uid'], undefined, 'a clone does not get its source\'s uid');
    // vcsim's clone copies no extraConfig; vCenter's copies all of it, which is why create and clone
    // always write the key, empty when there is no uid: an empty value removes it.
    const clear = await p.client.call('ReconfigVM_Task', { type: 'VirtualMachine', value: own.id }, { spec: configSpec({ extraConfig: { 'virtrigaud.uid': '' } }) });
    await waitTask(p.client, moRef(clear)!, 'Reconfigure');
    t.equal((await readVm(p.client, own.id)).extraConfig['virtrigaud.uid'], undefined, 'an empty value removes the key');
    t.equal((await p.describe(own.id)).uid, undefined, 'and describe reports no uid');
    for (const id of [clone.targetVmId, own.id, plain.id]) await waitTask(p.client, taskRef((await p.delete(id))!.id), 'Delete');
  });

  await t.test('vCenter unreachable: Retryable', async (t) => {
    await sim.stop();
    t.match(await category(p.describe('vm-1')), /^Retryable: /);
  });
});
