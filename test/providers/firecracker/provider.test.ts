/**
 * Firecracker-specific behaviour with the real binary: the --version
 * check, the no-/dev/kvm path, NICs on taps with rate limiters, MMDS,
 * serial and balloon as Firecracker reports them, a restarted provider
 * finding its microVMs, Diff snapshots, and reconfigure of a running VM.
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import { createRequest, desiredPayload } from '../../../src/providers/conformance';
import { fcApi, FirecrackerProvider, livePid, type VmConfig } from '../../../src/providers/firecracker';
import { DEFAULT_HOST_POLICY } from '../../../src/providers/hostutil';
import { isProviderError, type NetworkPayload } from '../../../src/providers/provider';
import { destroyStateDir, fakeOld, firecrackerBin, firecrackerPidsUnder, linksIn, makeNetns, removeNetns, stateDir, templateDir, withoutKvm } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const missing = await new FirecrackerProvider({ stateDir: dir, binary: `${dir}/no-such-firecracker`, netns }).validate();
    t.equal(missing.ok, false, 'a missing binary is not ok');
    t.match(missing.message, /FIRECRACKER_BIN/, 'and says what to set');
    const old = await new FirecrackerProvider({ stateDir: dir, binary: await fakeOld(dir), netns }).validate();
    t.equal(old.ok, false, 'an old binary is not ok');
    t.match(old.message, /1\.4\.1 .* too old.*FIRECRACKER_BIN/, 'and says so, and what to set');
    const bare = await new FirecrackerProvider({ stateDir: dir, binary: 'no-such-firecracker-here', netns }).validate();
    t.match(bare.message, /"no-such-firecracker-here" is not on PATH: set FIRECRACKER_BIN/, 'a bare name not on PATH: says so');
    t.notMatch(bare.message, /hypervisors\.sh/, 'without another hypervisor\'s install hint');
    const notExec = `${dir}/not-executable`;
    await fs.writeFile(notExec, '', { mode: 0o644 });
    t.match((await new FirecrackerProvider({ stateDir: dir, binary: notExec, netns }).validate()).message, /not-executable is not executable: set FIRECRACKER_BIN/, 'a file that is not executable: says so');
  });

  t.test('the binary is checked when the provider starts: nothing is built or started without it', async (t) => {
    const none = new FirecrackerProvider({ stateDir: dir, binary: `${dir}/no-such-firecracker`, netns });
    const st = await none.binaryStatus;
    t.equal(st.ok, false, 'the start-up check found no binary');
    t.match(st.message, /FIRECRACKER_BIN/, 'and says what to set');
    const err = await none.create(small('nobin', { networks: [] })).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(err, 'Internal'), `Create refused (${String(err)})`);
    t.match((err as Error).message, /Create: Firecracker binary .*no-such-firecracker is not there: set FIRECRACKER_BIN/, 'with the check\'s message');
    t.notOk((await p.listVMs()).some((v) => v.name === 'nobin'), 'no VM directory was built');
    const old = new FirecrackerProvider({ stateDir: dir, binary: await fakeOld(dir), netns });
    const e2 = await old.create(small('oldbin', { networks: [] })).then(() => undefined, (e: unknown) => e);
    t.match((e2 as Error).message, /too old/, 'an old binary: refused too');
    const { id } = await p.create(small('onbin', { networks: [], disks: [] }));
    t.equal(await none.power(id, 'On', 0), undefined, 'power On of a running VM needs no binary: nothing to start');
    await p.power(id, 'Off', 0);
    const on = await none.power(id, 'On', 0).then(() => undefined, (e: unknown) => e);
    t.match((on as Error).message, /^Power: Firecracker binary .*is not there: set FIRECRACKER_BIN/, 'power On of a stopped VM without the binary: refused with what to set');
    t.equal((await p.describe(id)).powerState, 'Off', 'and the VM stays Off');
    await p.delete(id);
  });

  t.test('without a usable /dev/kvm: a clear error, no hang, no process left', async (t) => {
    const nokvm = new FirecrackerProvider({ stateDir: dir, binary: await withoutKvm(dir, binary), netns });
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

    // One jailed directory: every file the process was given lies in the VM's own directory.
    const vmDir = p.layout.vmDir(id);
    const paths = [vm['boot-source'].kernel_image_path as string, ...vm.drives.map((d: any) => d.path_on_host as string)];
    t.ok(paths.every((x) => x.startsWith(`${vmDir}/`)), `kernel and drives inside ${vmDir}: ${paths.join(', ')}`);
    t.equal((await fs.stat(vmDir)).mode & 0o777, 0o700, 'the VM directory is private (0700)');
    const pid = await livePid(p.layout, id);
    t.equal(await fs.readlink(`/proc/${pid}/cwd`), vmDir, 'the process runs in its VM directory');
    const fds = await Promise.all((await fs.readdir(`/proc/${pid}/fd`)).map((fd) => fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    t.ok(fds.includes(p.layout.serialLog(id)), 'the process writes the guest console to serial.log (PUT /serial)');
    t.ok(fds.includes(p.layout.log(id)), 'and its own output to firecracker.log');
    const threads = await fs.readdir(`/proc/${pid}/task`);
    const filtered = await Promise.all(threads.map(async (tid) => /Seccomp:\s+2/.test(await fs.readFile(`/proc/${pid}/task/${tid}/status`, 'utf8'))));
    t.ok(threads.length > 1 && filtered.every(Boolean), `all ${threads.length} threads under Firecracker's seccomp filters`);
    const tpl = templateDir();
    for (const f of ['vmlinux', 'rootfs.ext4']) {
      const [mine, orig] = await Promise.all([fs.stat(`${vmDir}/${f}`), fs.stat(`${tpl}/${f}`)]);
      t.not(mine.ino, orig.ino, `${f}: the VM's own copy, not the template's file`);
      t.equal(mine.size, orig.size, `${f}: same size as the template`);
    }
    const root = await fs.stat(`${vmDir}/rootfs.ext4`);
    t.ok(root.blocks * 512 < root.size, `rootfs copied sparse (${root.blocks * 512} of ${root.size} bytes allocated)`);
    const data = await fs.stat(`${vmDir}/${cfg.drives[1]!.file}`);
    t.equal(data.size, 10 * 1024 ** 3, 'the data disk is a 10 GiB drive file');
    t.ok(data.blocks * 512 < 1024 * 1024, 'and sparse');
    t.equal(vm.drives.find((d: any) => d.drive_id === cfg.drives[1]!.id)?.path_on_host, `${vmDir}/${cfg.drives[1]!.file}`, 'attached as a drive');

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

  t.test('images: a template or a directory in the operator\'s image roots; URLs refused', async (t) => {
    const req = small('img', { networks: [], disks: [] });
    const url = await p.create({ ...req, image: { ...req.image, TemplateName: '', URL: 'https://example.invalid/rootfs.ext4' } }).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(url, 'InvalidSpec'), 'a URL: InvalidSpec');
    t.match((url as Error).message, /does not download images/, 'says the provider downloads nothing');
    const outside = await p.create({ ...req, image: { ...req.image, TemplateName: '', Path: templateDir() } }).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(outside), `a directory outside the operator's image roots is refused (${String(outside)})`);
    const rooted = new FirecrackerProvider({ ...opts, hostPolicy: { ...DEFAULT_HOST_POLICY, imageRoots: [templateDir()] } });
    const inRoots = await rooted.create({ ...req, name: 'img-path', image: { ...req.image, TemplateName: '', Path: templateDir() } });
    t.equal((await rooted.describe(inRoots.id)).powerState, 'On', 'a directory inside them boots');
    await rooted.delete(inRoots.id);
    await fs.mkdir(`${dir}/images/half`);
    await fs.writeFile(`${dir}/images/half/vmlinux`, '');
    const half = await p.create({ ...req, image: { ...req.image, TemplateName: 'half' } }).then(() => undefined, (e: unknown) => e);
    t.match((half as Error).message, /lacks .*rootfs\.ext4/, 'a template without rootfs.ext4 says what is missing');
    const none = await p.create({ ...req, image: { ...req.image, TemplateName: '' } }).then(() => undefined, (e: unknown) => e);
    t.match((none as Error).message, /gives no source this provider reads: use VMImage source\.libvirt\.path/, 'no usable source (e.g. only registry): says which sources work');
    const dots = await p.create({ ...req, image: { ...req.image, TemplateName: '../vms' } }).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(dots, 'InvalidSpec'), 'a template name that climbs out is refused');
    t.notOk((await p.listVMs()).some((v) => v.name === 'img'), 'nothing built for the refused ones');
  });

  t.test('SMT: an even vCPU count boots with smt on', async (t) => {
    const smt = new FirecrackerProvider({ ...opts, smt: true });
    const odd = await smt.create({ ...small('smt3', { networks: [], disks: [] }), class: { ...small('x').class, CPU: 3 } }).then(() => undefined, (e: unknown) => e);
    t.match(String(odd), /1 or even/, 'create with 3 vCPUs under SMT: refused');
    const { id } = await smt.create({ ...small('smt2', { networks: [], disks: [] }), class: { ...small('x').class, CPU: 2 } });
    const mc = (await fcApi<Record<string, any>>(smt.layout.socket(id), { method: 'GET', path: '/vm/config' }))['machine-config'];
    t.same([mc.vcpu_count, mc.smt], [2, true], 'Firecracker runs it with 2 vCPUs and SMT');
    await smt.delete(id);
  });

  t.test('snapshots: Full then Diff, revert loads the Diff in a new process', async (t) => {
    const { id } = await p.create(small('diff', { networks: [] }));
    const a = await p.snapshotCreate({ vmId: id, nameHint: 'a', includeMemory: true, description: '' });
    const state = async () => (await fcApi<{ state: string }>(p.layout.socket(id), { method: 'GET', path: '/' })).state;
    t.equal(await state(), 'Running', 'resumed after the Full snapshot');
    const b = await p.snapshotCreate({ vmId: id, nameHint: 'b', includeMemory: true, description: '' });
    t.equal(await state(), 'Running', 'resumed after the Diff snapshot');
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
    t.same([d.providerRaw.runningCPU, d.providerRaw.runningMemoryMiB, d.cpu, d.memoryMiB], ['1', '128', 2, 256], 'what runs now, and the configured size');
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

  t.test('NIC rate limiters: the tenant\'s qos lowers the operator\'s; reconfigure PATCHes a running microVM', async (t) => {
    const req = small('qos');
    const net = { ...req.networks[0]!, IngressLimit: 4_000_000, EgressLimit: 64_000_000 };
    const ignition = '{"ignition":{"version":"3.4.0"}}';
    const { id } = await p.create({ ...req, disks: [], networks: [net] as unknown as NetworkPayload[], userData: ignition });
    const mmds = await fcApi<Record<string, any>>(p.layout.socket(id), { method: 'GET', path: '/mmds' });
    t.equal(mmds.latest['user-data'], ignition, 'an Ignition config as user-data: in MMDS as given');
    const nic = async () => (await fcApi<Record<string, any>>(p.layout.socket(id), { method: 'GET', path: '/vm/config' }))['network-interfaces'][0];
    let n = await nic();
    t.equal(n.rx_rate_limiter.bandwidth.size, 500_000, 'rx: the tenant\'s 4 Mbit/s, under the operator\'s 8');
    t.equal(n.tx_rate_limiter.bandwidth.size, 2_000_000, 'tx: the operator\'s 16 Mbit/s, the tenant cannot raise it');
    const pid = await livePid(p.layout, id);
    await p.reconfigure(id, { ...desiredPayload({ ...req, disks: [] }, 1, 128), Networks: [{ ...req.networks[0]!, EgressLimit: 8_000_000 }] as unknown as NetworkPayload[] });
    n = await nic();
    t.equal(n.rx_rate_limiter.bandwidth.size, 1_000_000, 'after reconfigure rx: back to the operator\'s 8 Mbit/s');
    t.equal(n.tx_rate_limiter.bandwidth.size, 1_000_000, 'tx: the tenant\'s new 8 Mbit/s');
    t.equal(await livePid(p.layout, id), pid, 'changed in place: the same process');
    t.equal((await p.describe(id)).providerRaw.pendingRestart, undefined, 'no restart needed for rate limits');
    const stored = JSON.parse(await fs.readFile(p.layout.config(id), 'utf8')) as VmConfig;
    t.same([stored.nics[0]!.rxBitsPerSecond, stored.nics[0]!.txBitsPerSecond], [undefined, 8_000_000], 'the tenant\'s qos is stored for the next start');
    const bad = await p.reconfigure(id, { ...desiredPayload(req, 1, 128), Networks: [{ ...req.networks[0]!, IngressLimit: 10 }] as unknown as NetworkPayload[] }).then(() => undefined, (e: unknown) => e);
    t.ok(isProviderError(bad, 'InvalidSpec'), 'a qos under 1000 bit/s: InvalidSpec');
    await p.delete(id);
  });

  t.test('graceful shutdown: SendCtrlAltDel, then killed at gracefulShutdownTimeout', async (t) => {
    const { id } = await p.create(small('grace', { networks: [], disks: [] }));
    const started = Date.now();
    const task = await p.power(id, 'ShutdownGraceful', 2);
    t.ok(task?.id, 'a task');
    t.equal((await p.taskStatus(task!)).done, false, 'not done at once');
    await sleep(1_000);
    t.ok(await livePid(p.layout, id), 'the process still runs before the timeout (no guest answers Ctrl+Alt+Del here)');
    t.equal((await p.describe(id)).powerState, 'On', 'and is On');
    // Nobody polls: the provider's own timer ends it at the deadline.
    while (await livePid(p.layout, id)) {
      if (Date.now() - started > 10_000) break;
      await sleep(100);
    }
    const took = Date.now() - started;
    t.notOk(await livePid(p.layout, id), `killed after ${took} ms`);
    t.ok(took >= 2_000, 'not before the 2 s timeout');
    t.equal((await p.taskStatus(task!)).done, true, 'the task is done');
    const d = await p.describe(id);
    t.equal(d.powerState, 'Off', 'Off');
    t.equal(d.providerRaw.lastShutdown, 'forced-after-timeout', 'status says it was forced after the timeout');
    await p.delete(id);
  });

  t.test('graceful shutdown the guest completes: done before the timeout, recorded as the guest\'s', async (t) => {
    const { id } = await p.create(small('grace3', { networks: [], disks: [] }));
    const task = await p.power(id, 'ShutdownGraceful', 60);
    const pid = await livePid(p.layout, id);
    // What a booted guest does on Ctrl+Alt+Del with reboot=k: Firecracker exits.
    process.kill(pid!, 'SIGTERM');
    while (await livePid(p.layout, id)) await sleep(25);
    t.equal((await p.taskStatus(task!)).done, true, 'the task is done long before the 60 s timeout');
    t.equal((await p.describe(id)).providerRaw.lastShutdown, 'guest', 'lastShutdown: guest');
    t.notOk(await fs.stat(p.layout.socket(id)).then(() => true, () => false), 'its socket is removed');
    await p.delete(id);
  });

  t.test('restart-safe: a provider started after a graceful shutdown began kills at the stored deadline', async (t) => {
    const first = new FirecrackerProvider(opts);
    const { id } = await first.create(small('grace2', { networks: [], disks: [] }));
    const started = Date.now();
    await first.power(id, 'ShutdownGraceful', 2);
    await first.close();
    const second = new FirecrackerProvider(opts);
    t.teardown(() => second.close());
    await second.ready;
    t.equal(second.recovered.get(id), 'Running', 'found running by the new provider');
    while ((await livePid(second.layout, id)) && Date.now() - started < 10_000) await sleep(100);
    t.notOk(await livePid(second.layout, id), `killed by the new provider at the deadline (${Date.now() - started} ms), nobody polling`);
    t.ok(Date.now() - started >= 2_000, 'not before it');
    t.equal((await second.describe(id)).providerRaw.lastShutdown, 'forced-after-timeout', 'recorded');
    await second.delete(id);
  });
});
