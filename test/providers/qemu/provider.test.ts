/**
 * QEMU provider behaviours beyond conformance, against real QEMU (TCG):
 * VMs outliving the provider process, graceful shutdown through the guest
 * and by timeout, memory snapshots, resize at the next power cycle, the
 * cloud-init seed, and delete removing process and files.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequest, awaitTask } from '../../../src/providers/conformance';
import { QemuProvider, qemuOptionsFromContext, withQmp, livePid } from '../../../src/providers/qemu';
import { isProviderError, type CreateRequest } from '../../../src/providers/provider';
import { detectAccel } from '../../../src/providers/hostutil';
import { destroyStateDir, guestTicks, qemuPidsUnder, qmpStatus, requireQemu, stateDir, until } from './support';

const REPO = join(__dirname, '..', '..', '..');
let dir: string;
let p: QemuProvider;

/** A small VM on one of the test templates: 1 vCPU, 64 MiB, no data disks. */
function small(name: string, template: 'acpi' | 'blank', over: Partial<CreateRequest> = {}): CreateRequest {
  const base = createRequest(name);
  return {
    ...base,
    class: { ...base.class, CPU: 1, MemoryMiB: 64, DiskDefaults: null },
    image: { ...base.image, TemplateName: template },
    disks: [],
    ...over,
  };
}

t.before(async () => {
  requireQemu();
  dir = await stateDir('prov', { acpi: { acpi: true }, blank: { acpi: false } });
  p = new QemuProvider({ stateDir: dir });
});
t.teardown(async () => {
  await p?.close();
  if (dir) await destroyStateDir(dir);
});

t.test('instance settings: every host knob comes from the operator, none from the Provider', async (t) => {
  const ctx = (qemu?: any) => ({
    namespace: 'ns', name: 'p', type: 'qemu', endpoint: 'qemu:///system?binary=/bin/sh&sandbox=0', credentials: {}, defaults: {}, insecureSkipVerify: false,
    instance: { name: 'lab', driver: 'qemu' as const, namespaces: ['ns'], ...(qemu ? { qemu } : {}) },
  });
  t.same(qemuOptionsFromContext(ctx({ stateDir: '/var/lib/x/qemu', nic: 'user', sandbox: true })), { stateDir: '/var/lib/x/qemu', nic: 'user', sandbox: true, accel: 'auto' });
  t.same(qemuOptionsFromContext(ctx({ stateDir: '/s', nic: 'none', sandbox: false, binary: '/opt/qemu', accel: 'tcg' })), { stateDir: '/s', nic: 'none', sandbox: false, accel: 'tcg', qemuBinary: '/opt/qemu' });
  let category: string | undefined;
  try {
    qemuOptionsFromContext(ctx());
  } catch (e) {
    category = isProviderError(e) ? e.category : 'foreign';
  }
  t.equal(category, 'InvalidSpec', 'an instance without qemu settings is refused');
});

t.test('the VM outlives the provider process; a new instance finds it and powers it off', async (t) => {
  // Create from a separate Node process that then exits.
  const script = `
    const { QemuProvider } = require('./src/providers/qemu');
    const { createRequest } = require('./src/providers/conformance');
    const base = createRequest('survivor');
    new QemuProvider({ stateDir: ${JSON.stringify(dir)} })
      .create({ ...base, class: { ...base.class, CPU: 1, MemoryMiB: 64, DiskDefaults: null }, image: { ...base.image, TemplateName: 'acpi' }, disks: [] })
      .then((r) => process.stdout.write(r.id), (e) => { console.error(e); process.exit(1); });`;
  const id = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, encoding: 'utf8' }).trim();
  t.match(id, /^survivor-[0-9a-f]{6}$/, 'created by the other process');
  const fresh = new QemuProvider({ stateDir: dir });
  await fresh.ready;
  t.match(fresh.recovered.get(id), /^running \((running|unreachable)\)$/, 'the start-up scan found it running');
  const d = await fresh.describe(id);
  t.equal(d.powerState, 'On', 'describe: On');
  t.equal(d.providerRaw.accel, fresh.accel.accel, 'describe names the accelerator it runs under');
  t.equal(d.providerRaw.accel, detectAccel().accel, 'the one the host probe allows (auto)');
  t.match(readFileSync(`/proc/${await livePid(fresh.layout, id)}/cmdline`, 'utf8').split('\0').join(' '), new RegExp(`-machine pc,accel=${fresh.accel.accel}`), 'the running QEMU was started with it');
  t.equal(await qmpStatus(fresh.layout.qmp(id)), 'running', 'QMP reachable');
  const pid = await livePid(fresh.layout, id);
  await fresh.power(id, 'Off', 0);
  t.equal((await fresh.describe(id)).powerState, 'Off', 'powered off by the new instance');
  t.notOk(existsSync(`/proc/${pid}/cmdline`) && (await livePid(fresh.layout, id)), 'the QEMU process is gone');
  await fresh.delete(id);
  await fresh.close();
});

t.test('graceful shutdown: the guest powers off on ACPI', async (t) => {
  const { id } = await p.create(small('polite', 'acpi'));
  await until(async () => (await guestTicks(p.layout.qmp(id))) > 0, 'guest running its boot sector');
  const task = await p.power(id, 'ShutdownGraceful', 30);
  t.ok(task?.id, 'a task to follow');
  const started = Date.now();
  await awaitTask(p, task, 30_000, 100);
  t.ok(Date.now() - started < 10_000, `the guest shut down by itself (${Date.now() - started} ms)`);
  const d = await p.describe(id);
  t.equal(d.powerState, 'Off');
  t.equal(d.providerRaw.lastShutdown, 'guest', 'ended by the guest');
  await p.delete(id);
});

t.test('graceful shutdown: a guest that ignores ACPI is powered off at the timeout, even across a provider restart', async (t) => {
  const { id } = await p.create(small('deaf', 'blank'));
  const first = new QemuProvider({ stateDir: dir });
  const task = await first.power(id, 'ShutdownGraceful', 2);
  t.same(await first.taskStatus(task!), { done: false }, 'not done before the timeout');
  t.equal((await first.describe(id)).powerState, 'On', 'still on while waiting');
  // The instance that started the shutdown goes away; a new one picks the deadline up from config.json.
  await first.close();
  const second = new QemuProvider({ stateDir: dir });
  t.teardown(() => second.close());
  // Nobody polls the task: the new instance's own timer ends it.
  await new Promise((r) => setTimeout(r, 3_000));
  t.notOk(await livePid(p.layout, id), 'QEMU ended at the deadline without polling');
  t.same(await second.taskStatus(task!), { done: true }, 'task done, answered by the new instance');
  const d = await second.describe(id);
  t.equal(d.powerState, 'Off');
  t.equal(d.providerRaw.lastShutdown, 'forced-after-timeout');
  await p.delete(id);
});

t.test('snapshot with memory, revert restores the running state', async (t) => {
  const { id } = await p.create(small('memsnap', 'acpi'));
  const qmp = p.layout.qmp(id);
  await until(async () => (await guestTicks(qmp)) > 20, 'guest ticking');
  const snap = await p.snapshotCreate({ vmId: id, nameHint: 'Warm State!', includeMemory: true, description: 'with RAM' });
  const atSnap = await guestTicks(qmp);
  t.match(snap.snapshotId, /^warm-state-[0-9a-f]{6}$/, 'id from the name hint');
  await p.reconfigure(id, { ...small('memsnap', 'acpi'), Name: 'memsnap', Class: { ...small('x', 'acpi').class, CPU: 2, MemoryMiB: 96 }, Networks: [], Disks: [], UserData: null, MetaData: null, Placement: null, Tags: [], Image: small('x', 'acpi').image });
  await until(async () => (await guestTicks(qmp)) > atSnap + 40, 'time passes after the snapshot');
  await p.snapshotRevert(id, snap.snapshotId);
  const after = await guestTicks(qmp);
  t.ok(after >= atSnap && after < atSnap + 30, `guest memory restored (ticks ${after}, at snapshot ${atSnap})`);
  t.equal(await qmpStatus(qmp), 'running', 'running after the revert');
  const d = await p.describe(id);
  t.same({ cpu: d.cpu, memoryMiB: d.memoryMiB }, { cpu: 1, memoryMiB: 64 }, 'size of the snapshot');
  const info = await p.getDiskInfo(id, 'boot', snap.snapshotId);
  t.same(info.snapshots, [snap.snapshotId], 'internal qcow2 snapshot on the boot disk');
  t.match(info.backingFile, /images\/acpi\.qcow2$/, 'boot disk is an overlay on the image');
  // Disk-only snapshot of the stopped VM, reverted offline.
  await p.power(id, 'Off', 0);
  const cold = await p.snapshotCreate({ vmId: id, nameHint: 'cold', includeMemory: false, description: '' });
  await p.snapshotRevert(id, cold.snapshotId);
  t.equal((await p.describe(id)).powerState, 'Off', 'a snapshot of a stopped VM reverts to stopped');
  await p.snapshotDelete(id, snap.snapshotId);
  await p.snapshotDelete(id, cold.snapshotId);
  t.same((await p.getDiskInfo(id, '', '')).snapshots, [], 'both deleted from the qcow2');
  await p.delete(id);
});

t.test('resize: stored at once, applied at the next power cycle; disks grow online', async (t) => {
  const req = small('grow', 'acpi', { disks: [{ Name: 'data', SizeGiB: 1, Type: 'thin' }] });
  const { id } = await p.create(req);
  const payload = { Name: req.name, Class: { ...req.class, CPU: 2, MemoryMiB: 96 }, Image: req.image, Networks: [], Disks: [{ Name: 'data', SizeGiB: 2, Type: 'thin' }], UserData: null, MetaData: null, Placement: null, Tags: [] };
  await p.reconfigure(id, payload);
  let d = await p.describe(id);
  t.same({ cpu: d.cpu, memoryMiB: d.memoryMiB, pending: d.providerRaw.pendingRestart }, { cpu: 2, memoryMiB: 96, pending: 'true' }, 'configured, pending restart');
  t.equal((await p.getDiskInfo(id, 'data', '')).virtualSizeBytes, 2 * 1024 ** 3, 'data disk grown online');
  await p.power(id, 'Off', 0);
  await p.power(id, 'On', 0);
  d = await p.describe(id);
  t.equal(d.providerRaw.pendingRestart, 'false', 'applied');
  const cpus = await withQmp(p.layout.qmp(id), (q) => q.execute<unknown[]>('query-cpus-fast'));
  const mem = await withQmp(p.layout.qmp(id), (q) => q.execute<{ 'base-memory': number }>('query-memory-size-summary'));
  t.same({ cpus: cpus.length, mem: mem['base-memory'] }, { cpus: 2, mem: 96 * 1024 * 1024 }, 'QEMU runs with 2 vCPUs and 96 MiB');
  const err = await p.reconfigure(id, { ...payload, Class: { ...payload.Class, CPU: 0 } }).catch((e) => e);
  t.ok(isProviderError(err, 'InvalidSpec'), 'CPU 0 is InvalidSpec');
  await p.delete(id);
});

t.test('cloud-init seed ISO attached as a CD-ROM', async (t) => {
  const { id } = await p.create(small('seeded', 'blank', { userData: '#cloud-config\nhostname: seeded\n' }));
  t.ok(existsSync(p.layout.seedIso(id)), 'seed.iso built');
  const blocks = await withQmp(p.layout.qmp(id), (q) => q.execute<{ device: string; inserted?: { file: string; ro: boolean } }[]>('query-block'));
  const seed = blocks.find((b) => b.device === 'seed');
  t.ok(seed?.inserted?.file.endsWith('seed.iso') && seed.inserted.ro, 'read-only CD-ROM with the seed');
  await p.delete(id);
});

t.test('an Ignition config goes to the guest as fw_cfg opt/com.coreos/config, and no cloud-init seed is made', async (t) => {
  const doc = '{"ignition":{"version":"3.4.0"}}';
  const { id } = await p.create(small('ignited', 'blank', { userData: doc, userDataFormat: 'ignition' }));
  t.equal(readFileSync(p.layout.file(id, 'config.ign'), 'utf8'), doc, 'config.ign in the VM directory');
  t.notOk(existsSync(p.layout.seedIso(id)), 'no seed.iso');
  const pid = readFileSync(p.layout.pidfile(id), 'utf8').trim();
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  t.ok(argv.includes('-fw_cfg') && argv[argv.indexOf('-fw_cfg') + 1] === `name=opt/com.coreos/config,file=${p.layout.file(id, 'config.ign')}`, 'QEMU runs with the fw_cfg file');
  await p.delete(id);
});

t.test('a static NIC address is refused before anything is made: QEMU NICs are the operator\'s', async (t) => {
  const before = (await p.listVMs()).length;
  const nic = { Name: 'eth0', Portgroup: '', NetworkName: '', Bridge: '', VLAN: 0, Model: '', MacAddress: '', IPPolicy: 'static', StaticIP: '10.30.0.7', Prefix: 24, Gateway: '', DNS: '', PCISlotNumber: null };
  const err = await p.create(small('fixed-ip', 'blank', { networks: [nic] })).catch((e) => e);
  t.ok(isProviderError(err, 'InvalidSpec'), 'InvalidSpec');
  t.match(err.message, /NIC eth0: static address 10\.30\.0\.7 cannot be applied: QEMU NICs are the operator's \(qemu\.nic "none"\)/);
  t.equal((await p.listVMs()).length, before, 'no VM made');
});

t.test('delete kills QEMU and removes the VM directory', async (t) => {
  const { id } = await p.create(small('doomed', 'acpi', { disks: [{ Name: 'scratch', SizeGiB: 1, Type: 'thin' }] }));
  const vmDir = p.layout.vmDir(id);
  t.ok((await fs.readdir(vmDir)).includes('disk1-scratch.qcow2'), 'data disk file exists');
  const pid = await livePid(p.layout, id);
  t.ok(pid, 'running');
  await p.delete(id);
  t.notOk(existsSync(vmDir), 'directory removed');
  t.notOk((await qemuPidsUnder(vmDir)).length, 'no QEMU process for it');
  const again = await p.delete(id).catch((e) => e);
  t.ok(isProviderError(again, 'NotFound'), 'second delete: NotFound');
  t.equal((await p.describe(id)).exists, false);
  t.same(await qemuPidsUnder(dir), [], 'no QEMU left under the state dir');
});

t.test('linked clone of a running VM: both on one frozen base, independent writes, bases collected', async (t) => {
  const { id: src } = await p.create(small('origin', 'acpi'));
  const { targetVmId: clone } = await p.clone({ sourceVmId: src, targetName: 'offspring', linked: true, classJson: '', placementJson: '', customizeJson: '' });
  const srcDisk = await p.getDiskInfo(src, 'boot', '');
  const cloneDisk = await p.getDiskInfo(clone, 'boot', '');
  t.match(cloneDisk.backingFile, /\/bases\/origin-[0-9a-f]{6}-disk0-[0-9a-f]{6}\.qcow2$/, 'the clone is an overlay on a frozen base');
  t.equal(srcDisk.backingFile, cloneDisk.backingFile, 'the source continues on an overlay of the same base');
  t.equal(await qmpStatus(p.layout.qmp(src)), 'running', 'the source kept running through the switch');
  await p.power(clone, 'On', 0);
  t.equal(await qmpStatus(p.layout.qmp(clone)), 'running', 'the clone boots');
  // Writes of one never show in the other.
  await p.power(src, 'Off', 0);
  await p.power(clone, 'Off', 0);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 512k 64k', srcDisk.path]);
  execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read -P 0xab 512k 64k', srcDisk.path]);
  const other = execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read -P 0x00 512k 64k', cloneDisk.path], { encoding: 'utf8' });
  t.notMatch(other, /mismatch|fail/i, 'the clone does not see the source\'s write');
  await p.delete(src);
  t.ok(existsSync(cloneDisk.backingFile), 'the base stays while the clone uses it');
  await p.power(clone, 'On', 0);
  t.equal((await p.describe(clone)).powerState, 'On', 'the clone runs without its source');
  await p.delete(clone);
  t.same(await fs.readdir(join(dir, 'bases')), [], 'unused bases removed');
});
