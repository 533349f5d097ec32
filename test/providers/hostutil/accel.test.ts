/**
 * The host-acceleration probe (KVM or TCG) shared by the QEMU and libvirt
 * providers: every branch driven by fixture files (cpuinfo, a stand-in for
 * /dev/kvm, a /sys/module directory), then the real files of this machine,
 * whose expectation is computed from those files.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectAccel, PVM_REASON, type AccelProbePaths } from '../../../src/providers/hostutil';
import { hostKvmFacts } from './host-facts';

const INTEL = 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic vmx ssse3 sse4_1\nbugs\t\t: spectre_v1\n';
const AMD = 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse svm sse4a\n';
const NONE = 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae hypervisor\n';
// "vmx" elsewhere than in the flags line (a model name, a bugs line) is not the CPU flag.
const DECOY = 'processor\t: 0\nmodel name\t: vmx svm emulator\nflags\t\t: fpu vme hypervisor\nbugs\t\t: vmx_something\n';

t.test('detectAccel: each branch from fixture files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vr-accel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries({ intel: INTEL, amd: AMD, none: NONE, decoy: DECOY })) await writeFile(join(dir, `cpuinfo-${name}`), text);
  await writeFile(join(dir, 'kvm'), ''); // a file this process can open read-write
  await mkdir(join(dir, 'kvm-dir')); // exists, but opening it read-write fails (EISDIR), for root too
  await mkdir(join(dir, 'modules-plain', 'kvm_intel'), { recursive: true });
  await mkdir(join(dir, 'modules-pvm', 'kvm_pvm'), { recursive: true });
  const probe = (o: { cpu?: string; kvm?: string; modules?: string }): AccelProbePaths => ({
    cpuinfo: join(dir, o.cpu ?? 'cpuinfo-intel'), kvmDevice: join(dir, o.kvm ?? 'kvm'), sysModuleDir: join(dir, o.modules ?? 'modules-plain'),
  });

  const intel = detectAccel(probe({}));
  t.equal(intel.accel, 'kvm', 'vmx flag, read-write /dev/kvm, no kvm_pvm: KVM');
  t.match(intel.reason, /^vmx CPU flag and .*kvm opened read-write$/);
  const amd = detectAccel(probe({ cpu: 'cpuinfo-amd' }));
  t.equal(amd.accel, 'kvm', 'svm counts as well');
  t.match(amd.reason, /^svm CPU flag/);

  t.same(detectAccel(probe({ cpu: 'cpuinfo-none' })), { accel: 'tcg', reason: 'no vmx/svm CPU flag' });
  t.same(detectAccel(probe({ cpu: 'cpuinfo-decoy' })), { accel: 'tcg', reason: 'no vmx/svm CPU flag' }, 'only the flags line counts');
  t.same(detectAccel(probe({ cpu: 'no-such-cpuinfo' })), { accel: 'tcg', reason: `cannot read ${join(dir, 'no-such-cpuinfo')}: ENOENT` });

  t.same(detectAccel(probe({ kvm: 'no-such-kvm' })), { accel: 'tcg', reason: `${join(dir, 'no-such-kvm')} does not exist` });
  t.same(detectAccel(probe({ kvm: 'kvm-dir' })), { accel: 'tcg', reason: `${join(dir, 'kvm-dir')} not accessible: EISDIR` });

  // PVM: vmx present and /dev/kvm opens, still TCG.
  const pvm = detectAccel(probe({ modules: 'modules-pvm' }));
  t.equal(pvm.accel, 'tcg', 'kvm_pvm loaded: never KVM, even with vmx and a usable /dev/kvm');
  t.equal(pvm.reason, PVM_REASON);
  t.match(PVM_REASON, /PVM \(kvm_pvm\), which hangs standard guests/);
  t.equal(detectAccel(probe({ modules: 'no-such-modules' })).accel, 'kvm', 'a missing /sys/module means no kvm_pvm');

  // Several failures: all named, PVM first.
  t.same(detectAccel(probe({ cpu: 'cpuinfo-none', modules: 'modules-pvm', kvm: 'no-such-kvm' })), {
    accel: 'tcg', reason: `${PVM_REASON}; no vmx/svm CPU flag; ${join(dir, 'no-such-kvm')} does not exist`,
  });
});

t.test('detectAccel on this machine: the expectation computed from its real files', async (t) => {
  const { pvm, flag, rw, want } = hostKvmFacts();
  const got = detectAccel();
  t.equal(got.accel, want, `kvm_pvm ${pvm ? 'present' : 'absent'}, vmx/svm ${flag ? 'present' : 'absent'}, /dev/kvm ${rw ? 'read-write' : 'not usable'}`);
  t.same(detectAccel({ cpuinfo: '/proc/cpuinfo', kvmDevice: '/dev/kvm', sysModuleDir: '/sys/module' }), got, 'the defaults are the real paths');
  if (pvm) {
    t.equal(got.accel, 'tcg', 'PVM host: TCG');
    t.match(got.reason, /PVM \(kvm_pvm\)/, 'and the reason says PVM');
  } else {
    t.notMatch(got.reason, /PVM/, 'no kvm_pvm: PVM is not blamed');
  }
  t.equal(got.reason.includes('no vmx/svm CPU flag'), !flag, 'the CPU flag reason matches /proc/cpuinfo');
});
