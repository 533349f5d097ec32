/**
 * The QEMU provider's accelerator: the command line (`accel=kvm` with
 * `-cpu host`, or `accel=tcg`), the operator's `accel` setting (auto, kvm,
 * tcg) over the host probe, the refusal of `kvm` where the probe finds KVM
 * unusable (Validate, Create, any launch), no tenant key choosing it, and
 * what this machine gets. No VM is booted here (provider.test.ts does that).
 */
import t from 'tap';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequest } from '../../../src/providers/conformance';
import { detectAccel, PVM_REASON, type AccelProbePaths } from '../../../src/providers/hostutil';
import { isProviderError } from '../../../src/providers/provider';
import { hostKvmFacts } from '../hostutil/host-facts';
import { Layout, QemuProvider, qemuArgs, qemuOptionsFromContext, resolveAccel, type LaunchOptions, type VmConfig } from '../../../src/providers/qemu';
import { launch } from '../../../src/providers/qemu/process';

let fx: string;
/** Probe paths onto fixtures: a vmx CPU and a usable /dev/kvm stand-in, with or without kvm_pvm loaded. */
const probe = (o: { pvm?: boolean; vmx?: boolean } = {}): AccelProbePaths => ({
  cpuinfo: join(fx, o.vmx === false ? 'cpuinfo-plain' : 'cpuinfo-vmx'), kvmDevice: join(fx, 'kvm'), sysModuleDir: join(fx, o.pvm ? 'mod-pvm' : 'mod'),
});

t.before(async () => {
  fx = await mkdtemp(join(tmpdir(), 'vq-accel-'));
  await writeFile(join(fx, 'cpuinfo-vmx'), 'processor\t: 0\nflags\t\t: fpu vme vmx sse2\n');
  await writeFile(join(fx, 'cpuinfo-plain'), 'processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n');
  await writeFile(join(fx, 'kvm'), '');
  await mkdir(join(fx, 'mod'));
  await mkdir(join(fx, 'mod-pvm', 'kvm_pvm'), { recursive: true });
});
t.teardown(() => (fx ? rm(fx, { recursive: true, force: true }) : undefined));

const vm: VmConfig = {
  version: 1, id: 'vm1-abcdef', name: 'vm1', cpu: 2, memoryMiB: 128, createdAt: '2026-01-01T00:00:00Z', baseImage: '/b.qcow2',
  disks: [{ name: 'boot', drive: 'disk0', file: 'disk0-boot.qcow2', sizeGiB: 1 }], seed: false, networks: [], tags: [], snapshots: [],
};

t.test('qemuArgs: accel=kvm with -cpu host, or accel=tcg without -cpu', async (t) => {
  const layout = new Layout('/tmp/vq-args');
  const lo = (accel: 'kvm' | 'tcg'): LaunchOptions => ({ nic: 'none', sandbox: true, accel });
  const kvm = qemuArgs(layout, vm, lo('kvm'));
  const m = kvm.indexOf('-machine');
  t.equal(kvm[m + 1], 'pc,accel=kvm');
  t.equal(kvm[kvm.indexOf('-cpu') + 1], 'host', '-cpu host with KVM');
  t.equal(kvm.filter((a) => a === '-cpu').length, 1);
  t.notOk(kvm.some((a) => /accel=tcg/.test(a)), 'no TCG anywhere');
  const tcg = qemuArgs(layout, vm, lo('tcg'));
  t.equal(tcg[tcg.indexOf('-machine') + 1], 'pc,accel=tcg');
  t.notOk(tcg.includes('-cpu'), 'no -cpu host under TCG (it needs KVM)');
  t.notOk(tcg.some((a) => /accel=kvm/.test(a)));
  t.same(tcg.filter((a) => a !== '-cpu' && a !== 'host' && !a.startsWith('pc,accel=')), kvm.filter((a) => a !== '-cpu' && a !== 'host' && !a.startsWith('pc,accel=')), 'nothing else differs');
});

t.test('resolveAccel: the setting over the probe', async (t) => {
  t.same(resolveAccel('tcg', probe()), { setting: 'tcg', accel: 'tcg', reason: 'configured (accel: tcg)' }, 'tcg: TCG even where KVM works');
  const auto = resolveAccel('auto', probe());
  t.equal(auto.accel, 'kvm', 'auto on a usable KVM: KVM');
  t.match(auto.reason, /^detected \(accel: auto\): vmx CPU flag/);
  t.notOk(auto.refused);
  const autoPvm = resolveAccel('auto', probe({ pvm: true }));
  t.equal(autoPvm.accel, 'tcg', 'auto on PVM: TCG');
  t.match(autoPvm.reason, /PVM \(kvm_pvm\)/);
  t.notOk(autoPvm.refused, 'auto never refuses');
  t.equal(resolveAccel('auto', probe({ vmx: false })).accel, 'tcg', 'auto without vmx/svm: TCG');
  const kvm = resolveAccel('kvm', probe());
  t.equal(kvm.accel, 'kvm');
  t.notOk(kvm.refused, 'kvm where usable: no refusal');
  const kvmPvm = resolveAccel('kvm', probe({ pvm: true }));
  t.equal(kvmPvm.refused, `accel: kvm is configured but this host cannot use KVM: ${PVM_REASON}`, 'kvm on PVM: refused with the probe\'s reason');
  t.match(resolveAccel('kvm', probe({ vmx: false })).refused, /cannot use KVM: no vmx\/svm CPU flag/);
});

t.test('accel: kvm on a host where KVM is unusable: Validate, Create and launch refuse, with the reason', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vq-acr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const p = new QemuProvider({ stateDir: dir, accel: 'kvm', accelProbe: probe({ pvm: true }) });
  t.teardown(() => p.close());
  const v = await p.validate();
  t.equal(v.ok, false, 'Validate fails');
  t.match(v.message, /accel: kvm is configured but this host cannot use KVM: \/dev\/kvm is PVM \(kvm_pvm\), which hangs standard guests/);
  const err = await p.create(createRequest('refused', { disks: [] })).catch((e: unknown) => e);
  t.ok(isProviderError(err, 'Internal'), 'Create: a ProviderError (Internal), not a hang');
  t.match((err as Error).message, /^Create: accel: kvm is configured but this host cannot use KVM: .*PVM/);
  t.same((await readdir(join(dir, 'vms')).catch(() => [])).filter((f) => !f.startsWith('.')), [], 'no VM directory was made');
  // Every start (power on, revert to a memory snapshot) goes through launch, which refuses before running QEMU.
  const lo: LaunchOptions = { nic: 'none', sandbox: true, accel: 'kvm', accelRefused: p.accel.refused! };
  const le = await launch({ qemu: '/nonexistent/qemu' }, p.layout, vm, lo).catch((e: unknown) => e);
  t.ok(isProviderError(le, 'Internal'));
  t.match((le as Error).message, /^vm1-abcdef: accel: kvm is configured but this host cannot use KVM: .*PVM/);
});

t.test('Validate reports the accelerator and why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vq-acv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'vms'));
  const kvm = new QemuProvider({ stateDir: dir, accelProbe: probe() });
  t.teardown(() => kvm.close());
  const kv = await kvm.validate();
  t.equal(kv.ok, true, kv.message);
  t.match(kv.message, /^QEMU \(KVM: detected \(accel: auto\): vmx CPU flag and .* opened read-write\) with state in /);
  const pvm = new QemuProvider({ stateDir: dir, accelProbe: probe({ pvm: true }) });
  t.teardown(() => pvm.close());
  t.match((await pvm.validate()).message, /^QEMU \(TCG: detected \(accel: auto\): \/dev\/kvm is PVM \(kvm_pvm\), which hangs standard guests\) with state in /);
  const tcg = new QemuProvider({ stateDir: dir, accel: 'tcg', accelProbe: probe() });
  t.teardown(() => tcg.close());
  t.match((await tcg.validate()).message, /^QEMU \(TCG: configured \(accel: tcg\)\)/);
});

t.test('no tenant input chooses the accelerator', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vq-act-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const p = new QemuProvider({ stateDir: dir, accel: 'tcg' });
  t.teardown(() => p.close());
  for (const key of ['accel', 'qemu.accel', 'Accelerator']) {
    const base = createRequest('x', { disks: [] });
    const err = await p.create({ ...base, class: { ...base.class, ExtraConfig: { [key]: 'kvm' } } }).catch((e: unknown) => e);
    t.ok(isProviderError(err, 'InvalidSpec'), `extraConfig ${key}: refused`);
    t.match((err as Error).message, new RegExp(`extraConfig ${key}: the accelerator is the operator's choice`));
  }
  t.equal(p.accel.accel, 'tcg', 'still the configured TCG');
  // From an operator's instance: the setting is passed on (auto when absent); the Provider's endpoint carries nothing.
  const ctx = (qemu: any) => ({
    namespace: 'ns', name: 'p', type: 'qemu', endpoint: 'qemu:///system?accel=kvm', credentials: {}, defaults: {}, insecureSkipVerify: false,
    instance: { name: 'lab', driver: 'qemu' as const, namespaces: ['ns'], qemu },
  });
  t.equal(qemuOptionsFromContext(ctx({ stateDir: '/s', nic: 'none', sandbox: true, accel: 'tcg' })).accel, 'tcg');
  t.equal(qemuOptionsFromContext(ctx({ stateDir: '/s', nic: 'none', sandbox: true, accel: 'kvm' })).accel, 'kvm');
  t.equal(qemuOptionsFromContext(ctx({ stateDir: '/s', nic: 'none', sandbox: true })).accel, 'auto');
});

t.test('this machine: the default (auto) provider gets what its real files allow; TCG naming PVM on a PVM host', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vq-acm-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { pvm, flag, rw } = hostKvmFacts();
  const p = new QemuProvider({ stateDir: dir });
  t.teardown(() => p.close());
  t.equal(p.accel.accel, !pvm && flag && rw ? 'kvm' : 'tcg', `kvm_pvm ${pvm}, vmx/svm ${flag}, /dev/kvm rw ${rw}`);
  t.equal(p.accel.reason, `detected (accel: auto): ${detectAccel().reason}`);
  if (pvm) {
    t.equal(p.accel.accel, 'tcg', 'never KVM on PVM');
    t.match(p.accel.reason, /PVM/);
    const k = new QemuProvider({ stateDir: dir, accel: 'kvm' });
    t.teardown(() => k.close());
    t.match(k.accel.refused, /cannot use KVM: .*PVM \(kvm_pvm\)/, 'accel: kvm here is refused, naming PVM');
  } else {
    t.notMatch(p.accel.reason, /PVM/);
  }
  const args = qemuArgs(p.layout, vm, { nic: 'none', sandbox: true, accel: p.accel.accel });
  t.equal(args[args.indexOf('-machine') + 1], `pc,accel=${p.accel.accel}`, 'the command line uses it');
});
