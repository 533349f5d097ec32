/**
 * libvirt's domain type from the shared accelerator probe: `kvm` for a
 * remote hypervisor host (assumed), locally only where the probe finds KVM
 * usable (never on PVM); a VMClass asking for `domainType: kvm` on a local
 * host without usable KVM is refused with the probe's reason. No libvirtd
 * needed: the refusal comes before any virsh call.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classPayload, createRequest } from '../../../src/providers/conformance';
import { detectAccel, PVM_REASON, type AccelProbePaths } from '../../../src/providers/hostutil';
import { LibvirtProvider } from '../../../src/providers/libvirt/provider';
import { detectDomainType } from '../../../src/providers/libvirt/spec';
import { isProviderError } from '../../../src/providers/provider';

let fx: string;
const probe = (o: { pvm?: boolean } = {}): AccelProbePaths => ({
  cpuinfo: join(fx, 'cpuinfo'), kvmDevice: join(fx, 'kvm'), sysModuleDir: join(fx, o.pvm ? 'mod-pvm' : 'mod'),
});

t.before(async () => {
  fx = await mkdtemp(join(tmpdir(), 'vr-lv-accel-'));
  await writeFile(join(fx, 'cpuinfo'), 'processor\t: 0\nflags\t\t: fpu svm sse2\n');
  await writeFile(join(fx, 'kvm'), '');
  await mkdir(join(fx, 'mod'));
  await mkdir(join(fx, 'mod-pvm', 'kvm_pvm'), { recursive: true });
});
t.teardown(() => (fx ? rm(fx, { recursive: true, force: true }) : undefined));

t.test('detectDomainType: remote → kvm; local from the probe', async (t) => {
  t.same(detectDomainType(true, probe({ pvm: true })), { domainType: 'kvm', reason: 'remote hypervisor host (assumed to have KVM)' }, 'remote: kvm, the local probe does not matter');
  const local = detectDomainType(false, probe());
  t.equal(local.domainType, 'kvm', 'local, usable KVM: kvm');
  t.match(local.reason, /^svm CPU flag/);
  t.same(detectDomainType(false, probe({ pvm: true })), { domainType: 'qemu', reason: PVM_REASON }, 'local PVM: qemu (TCG)');
  t.same(detectDomainType(false, { ...probe(), kvmDevice: join(fx, 'nope') }), { domainType: 'qemu', reason: `${join(fx, 'nope')} does not exist` });
  const here = detectDomainType(false);
  t.equal(here.domainType, detectAccel().accel === 'kvm' ? 'kvm' : 'qemu', 'this machine: as the probe says');
  t.equal(here.reason, detectAccel().reason);
});

t.test('a VMClass asking for domainType kvm where KVM is unusable is refused', async (t) => {
  // A NIC naming no network (and no default network): the check after the domain type's, so no request here reaches virsh.
  const base = createRequest('vm1');
  const nic = { ...base.networks[0]!, NetworkName: '' };
  const req = (domainType: string) => ({ ...base, disks: [], networks: [nic], class: { ...classPayload(), ExtraConfig: { 'libvirt.domainType': domainType } } });
  const pvm = new LibvirtProvider({ uri: 'qemu:///system', accelProbe: probe({ pvm: true }) });
  const err = await pvm.create(req('kvm')).catch((e: unknown) => e);
  t.ok(isProviderError(err, 'InvalidSpec'), 'InvalidSpec');
  t.equal((err as Error).message, `extraConfig domainType: "kvm": this host cannot run KVM guests (${PVM_REASON})`);
  // Where KVM is usable, or for domainType qemu, the same request gets past that check to the next one.
  const ok = new LibvirtProvider({ uri: 'qemu:///system', accelProbe: probe() });
  t.match(await ok.create(req('kvm')).catch((e: Error) => e.message), /^NIC eth0: names neither a libvirt network nor a bridge/, 'usable KVM: kvm allowed');
  t.match(await pvm.create(req('qemu')).catch((e: Error) => e.message), /^NIC eth0: names neither/, 'domainType qemu: allowed on PVM');
  const remote = new LibvirtProvider({ uri: 'qemu+tcp://hv.example.com/system', accelProbe: probe({ pvm: true }) });
  t.match(await remote.create(req('kvm')).catch((e: Error) => e.message), /^NIC eth0: names neither/, 'a remote host is not judged by the local probe');
});
