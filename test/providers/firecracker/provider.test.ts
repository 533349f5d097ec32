/**
 * Firecracker-specific behaviour with the real binary: the --version
 * check, the no-/dev/kvm path, NICs on taps with rate limiters, MMDS,
 * serial and balloon as Firecracker reports them, a restarted provider
 * finding its microVMs, Diff snapshots, and reconfigure of a running VM.
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import { createRequest, desiredPayload } from '../../../src/providers/conformance';
import { faultCategory, fcApi, FirecrackerProvider, type VmConfig } from '../../../src/providers/firecracker';
import { isProviderError } from '../../../src/providers/provider';
import { destroyStateDir, fakeOld, firecrackerBin, firecrackerPidsUnder, linksIn, makeNetns, removeNetns, stateDir, withoutKvm } from './support';

const small = (name: string, over: Parameters<typeof createRequest>[1] = {}) => {
  const r = createRequest(name, over);
  return { ...r, class: { ...r.class, CPU: 1, MemoryMiB: 128 }, ...over };
};

t.test('Firecracker provider', { timeout: 300_000 }, async (t) => {
  const binary = firecrackerBin();
  const dir = await stateDir('prov');
  const netns = makeNetns();
  t.teardown(async () => {
    await destroyStateDir(dir);
    removeNetns(netns);
  });
  const opts = { stateDir: dir, binary, netns, networks: [{ name: 'lab-net', rxBitsPerSecond: 8_000_000, txBitsPerSecond: 16_000_000 }] };
  const p = new FirecrackerProvider(opts);
  t.teardown(() => p.close());

  t.test('--version check', async (t) => {
    t.match((await p.validate()).message, /Firecracker 1\.16\.1/, 'reports the version of the real binary');
    const missing = await new FirecrackerProvider({ stateDir: dir, binary: `${dir}/no-such-firecracker` }).validate();
    t.equal(missing.ok, false, 'a missing binary is not ok');
    t.match(missing.message, /FIRECRACKER_BIN/, 'and says what to set');
    const old = await new FirecrackerProvider({ stateDir: dir, binary: await fakeOld(dir) }).validate();
    t.equal(old.ok, false, 'an old binary is not ok');
    t.match(old.message, /1\.4\.1 .* too old/, 'and says so');
  });

  t.test('without a usable /dev/kvm: a clear error, no hang, no process left', async (t) => {
    const nokvm = new FirecrackerProvider({ stateDir: dir, binary: await withoutKvm(dir, binary) });
    const started = Date.now();
    const err = await nokvm.create(small('nokvm', { networks: [] })).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(err, 'Internal'), `Internal error (${String(err)})`);
    t.match((err as Error).message, /InstanceStart.*Kvm error.*needs a usable \/dev\/kvm/s, 'Firecracker\'s KVM text kept, with the hint');
    t.ok(Date.now() - started < 20_000, 'answered within 20 s');
    const vm = (await p.listVMs()).find((v) => v.name === 'nokvm');
    t.equal(vm?.powerState, 'Off', 'the VM is recorded, off');
    t.same((await firecrackerPidsUnder(dir)).length, 0, 'no Firecracker process runs');
    await p.delete(vm!.id);
  });

  t.test('NICs, rate limiters, MMDS, serial, balloon; restart; delete', async (t) => {
    const { id } = await p.create(small('net', { userData: '#cloud-config\nhostname: net\n', metaData: 'instance-id: net\n' }));
    const cfg = JSON.parse(await fs.readFile(p.layout.config(id), 'utf8')) as VmConfig;
    const sock = p.layout.socket(id);
    const vm = await fcApi<Record<string, any>>(sock, { method: 'GET', path: '/vm/config' });
    const nic = vm['network-interfaces'][0];
    t.equal(nic.host_dev_name, cfg.nics[0]!.tap, 'the NIC is on the tap the provider named');
    t.equal(nic.rx_rate_limiter.bandwidth.size, 1_000_000, 'rx limit: 8 Mbit/s = 1 MB per 1 s refill');
    t.equal(nic.tx_rate_limiter.bandwidth.size, 2_000_000, 'tx limit');
    t.ok(linksIn(netns).includes(cfg.nics[0]!.tap), 'the tap exists in the test namespace');
    t.equal(vm['machine-config'].vcpu_count, 1, 'vCPUs from the class');
    t.equal(vm['machine-config'].mem_size_mib, 128, 'memory from the class');
    t.equal(vm.balloon.deflate_on_oom, true, 'balloon device configured');
    t.equal(vm.drives.length, 2, 'rootfs and the data disk');
    const mmds = await fcApi<Record<string, any>>(sock, { method: 'GET', path: '/mmds' });
    t.equal(mmds.latest['user-data'], '#cloud-config\nhostname: net\n', 'user-data in MMDS');
    t.equal(mmds.latest['meta-data'], 'instance-id: net\n', 'meta-data in MMDS');
    t.ok(await fs.stat(p.layout.serialLog(id)).then(() => true), 'serial log file exists');

    const again = new FirecrackerProvider(opts);
    await again.ready;
    t.equal(again.recovered.get(id), 'Running', 'a new provider finds the running microVM');
    t.equal((await again.describe(id)).powerState, 'On', 'and describes it On');
    await again.close();

    await p.delete(id);
    t.notOk(linksIn(netns).includes(cfg.nics[0]!.tap), 'delete: the tap is gone');
    t.notOk(await fs.stat(p.layout.vmDir(id)).then(() => true, () => false), 'delete: the VM directory is gone');
  });

  t.test('a network the operator did not allow is refused', async (t) => {
    const req = small('badnet');
    const err = await p.create({ ...req, networks: [{ ...req.networks[0]!, NetworkName: 'host-lan' }] }).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(err, 'InvalidSpec'), 'InvalidSpec');
    t.match((err as Error).message, /"host-lan" is not one this Firecracker instance allows \(operator's firecracker\.networks: lab-net\)/, 'names the allowed networks');
  });

  t.test('snapshots: Full then Diff, revert loads the Diff in a new process', async (t) => {
    const { id } = await p.create(small('diff', { networks: [] }));
    const a = await p.snapshotCreate({ vmId: id, nameHint: 'a', includeMemory: true, description: '' });
    const b = await p.snapshotCreate({ vmId: id, nameHint: 'b', includeMemory: true, description: '' });
    const cfg = JSON.parse(await fs.readFile(p.layout.config(id), 'utf8')) as VmConfig;
    t.same(cfg.snapshots.map((s) => s.type), ['Full', 'Diff'], 'second snapshot of a process is a Diff');
    const pidBefore = (await p.describe(id)).providerRaw.pid;
    await p.snapshotRevert(id, b.snapshotId);
    const d = await p.describe(id);
    t.equal(d.powerState, 'On', 'running after revert (resume_vm)');
    t.not(d.providerRaw.pid, pidBefore, 'in a new process');
    await p.snapshotRevert(id, a.snapshotId);
    t.equal((await p.describe(id)).powerState, 'On', 'the Full one loads too');
    await p.delete(id);
  });

  t.test('reconfigure a running microVM', async (t) => {
    const req = small('grow', { networks: [] });
    const { id } = await p.create(req);
    await p.reconfigure(id, { ...desiredPayload(req, 2, 256), Disks: [{ Name: 'data', SizeGiB: 20, Type: 'thin' }] });
    const d = await p.describe(id);
    t.equal(d.providerRaw.pendingRestart, 'true', 'vCPU/memory change: pendingRestart');
    t.match(String(d.providerRaw.pendingRestartReason), /next power on/, 'with the reason');
    const info = await p.getDiskInfo(id, 'data', '');
    t.equal(info.virtualSizeBytes, 20 * 1024 ** 3, 'data disk grown');
    await p.power(id, 'Reboot', 0);
    const vm = await fcApi<Record<string, any>>(p.layout.socket(id), { method: 'GET', path: '/vm/config' });
    t.equal(vm['machine-config'].vcpu_count, 2, 'after a power cycle: the new vCPU count');
    t.equal((await p.describe(id)).providerRaw.pendingRestart, undefined, 'no restart pending any more');
    const odd = new FirecrackerProvider({ ...opts, smt: true });
    const err = await odd.reconfigure(id, desiredPayload(req, 3, 256)).then(() => undefined, (e: unknown) => e);
    t.match(String(err), /1 or even/, 'with SMT an odd vCPU count is refused');
    await p.delete(id);
  });

  t.test('Firecracker fault texts map to error kinds', async (t) => {
    t.equal(faultCategory(400, 'Start microvm error: Kvm error: Error creating KVM object'), 'Internal');
    t.equal(faultCategory(400, 'The requested operation is not supported after starting the microVM.'), 'Unimplemented');
    t.equal(faultCategory(400, 'Invalid machine configuration: The vCPU number is invalid!'), 'InvalidSpec');
    t.equal(faultCategory(404, 'Invalid request method and/or path'), 'NotFound');
  });
});
