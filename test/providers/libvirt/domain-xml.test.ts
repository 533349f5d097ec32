import t from 'tap';
import { buildDomainXml, parseDomainXml, type DomainSpec } from '../../../src/providers/libvirt/domain-xml';
import { extrasOf, nicsOf } from '../../../src/providers/libvirt/spec';
import { classifyLibvirtError } from '../../../src/providers/libvirt/virsh';
import { openConnection } from '../../../src/providers/libvirt/connection';
import { classPayload } from '../../../src/providers/conformance';
import { isProviderError, type NetworkPayload } from '../../../src/providers/provider';

const base: DomainSpec = {
  name: 'vm1', domainType: 'qemu', vcpus: 2, maxVcpus: 4, memoryMiB: 128, maxMemoryMiB: 256, firmware: 'bios', graphics: true,
  disks: [
    { path: '/p/vm1-root.qcow2', format: 'qcow2', target: 'vda', bus: 'virtio', device: 'disk' },
    { path: '/p/vm1-seed.iso', format: 'raw', target: 'sda', bus: 'sata', device: 'cdrom', readonly: true },
  ],
  nics: [{ network: 'lab-net', model: 'virtio', mac: '52:54:00:aa:bb:cc' }, { bridge: 'br0', model: 'e1000' }],
  metadata: { volumes: ['vm1-root.qcow2', 'vm1-seed.iso'], tags: ['a&b'], image: 'image-1.qcow2' },
};

t.test('BIOS domain: sizes, disks, seed ISO, NICs, metadata round-trip', async (t) => {
  const xml = buildDomainXml(base);
  t.match(xml, /<domain type='qemu'>/);
  t.match(xml, /<vcpu placement='static' current='2'>4<\/vcpu>/);
  t.match(xml, /<memory unit='MiB'>256<\/memory>/);
  t.match(xml, /<currentMemory unit='MiB'>128<\/currentMemory>/);
  t.notMatch(xml, /firmware=/, 'BIOS: no firmware auto-selection');
  t.match(xml, /<disk type='file' device='cdrom'><driver name='qemu' type='raw'\/><source file='\/p\/vm1-seed.iso'\/><target dev='sda' bus='sata'\/><readonly\/><\/disk>/, 'seed ISO attached read-only');
  t.match(xml, /<interface type='network'><source network='lab-net'\/><mac address='52:54:00:aa:bb:cc'\/><model type='virtio'\/><\/interface>/);
  t.match(xml, /<interface type='bridge'><source bridge='br0'\/><model type='e1000'\/><\/interface>/);
  t.match(xml, /a&amp;b/, 'metadata escaped');
  const back = parseDomainXml(xml);
  t.equal(back.vcpus, 2);
  t.equal(back.maxVcpus, 4);
  t.equal(back.memoryMiB, 128);
  t.equal(back.maxMemoryMiB, 256);
  t.equal(back.firmware, 'bios');
  t.same(back.disks.map((d) => [d.device, d.target]), [['disk', 'vda'], ['cdrom', 'sda']]);
  t.same(back.nics.map((n) => [n.network, n.bridge, n.model, n.mac]), [['lab-net', '', 'virtio', '52:54:00:aa:bb:cc'], ['', 'br0', 'e1000', '']]);
  t.same(back.metadata, base.metadata);
});

t.test('UEFI and secure boot', async (t) => {
  const uefi = buildDomainXml({ ...base, firmware: 'uefi' });
  t.match(uefi, /<os firmware='efi'>/);
  t.match(uefi, /<feature enabled='no' name='secure-boot'\/>/);
  t.equal(parseDomainXml(uefi).firmware, 'uefi');
  const sb = buildDomainXml({ ...base, firmware: 'uefi', secureBoot: true });
  t.match(sb, /machine='q35'/, 'secure boot needs q35');
  t.match(sb, /<smm state='on'\/>/);
  t.match(sb, /<feature enabled='yes' name='secure-boot'\/>/);
});

t.test('libvirt-written XML parses (units, metadata prefix, vnc port)', async (t) => {
  const xml = `<domain type='kvm' id='3'><name>x</name><uuid>u-1</uuid>
  <metadata><virtrigaud:vm xmlns:virtrigaud="https://virtrigaud.io/xmlns/libvirt/1"><virtrigaud:volumes><virtrigaud:volume>x-root.qcow2</virtrigaud:volume></virtrigaud:volumes><virtrigaud:tags/></virtrigaud:vm></metadata>
  <memory unit='KiB'>262144</memory><currentMemory unit='KiB'>131072</currentMemory><vcpu placement='static'>3</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os>
  <devices><disk type='file' device='disk'><source file='/a.qcow2' index='1'/><backingStore type='file' index='2'><format type='qcow2'/><source file='/img.qcow2'/></backingStore><target dev='vda' bus='virtio'/></disk>
  <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics></devices></domain>`;
  const d = parseDomainXml(xml);
  t.equal(d.uuid, 'u-1');
  t.equal(d.memoryMiB, 128);
  t.equal(d.maxMemoryMiB, 256);
  t.equal(d.vcpus, 3, 'no current attribute: all vCPUs');
  t.equal(d.firmware, 'uefi', 'OVMF loader is UEFI');
  t.equal(d.disks[0]?.backing, '/img.qcow2');
  t.equal(d.vncPort, 5901);
  t.same(d.metadata.volumes, ['x-root.qcow2']);
});

t.test('the VM uid in our metadata: written, escaped, read back (also as libvirt rewrites it)', async (t) => {
  const uid = '9b2e7c4a-51d3-4f08-b6aa-0c7e12f3d945';
  const xml = buildDomainXml({ ...base, metadata: { ...base.metadata, uid } });
  t.match(xml, `<metadata><vr:vm xmlns:vr="https://virtrigaud.io/xmlns/libvirt/1"><vr:uid>${uid}</vr:uid>`, 'uid element in our namespace');
  t.equal(parseDomainXml(xml).metadata.uid, uid, 'read back');
  t.same(parseDomainXml(xml).metadata, { ...base.metadata, uid }, 'the rest of the metadata unchanged');
  t.notOk('uid' in parseDomainXml(buildDomainXml(base)).metadata, 'no uid: no element, none read');
  t.notMatch(buildDomainXml(base), /uid>/);
  t.match(buildDomainXml({ ...base, metadata: { ...base.metadata, uid: 'a<b' } }), '<vr:uid>a&lt;b</vr:uid>', 'escaped');
  // `virsh metadata --key virtrigaud` and dumpxml spell the prefix after the key.
  const dumped = `<domain type='kvm'><name>x</name><uuid>u-2</uuid>
  <metadata><virtrigaud:vm xmlns:virtrigaud="https://virtrigaud.io/xmlns/libvirt/1"><virtrigaud:uid>${uid}</virtrigaud:uid><virtrigaud:volumes/><virtrigaud:tags><virtrigaud:tag>t1</virtrigaud:tag></virtrigaud:tags></virtrigaud:vm></metadata>
  <memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>`;
  t.same(parseDomainXml(dumped).metadata, { uid, volumes: [], tags: ['t1'] }, 'libvirt-written metadata with the uid');
});

const nic = (over: Partial<NetworkPayload>): NetworkPayload => ({
  Name: 'eth0', Portgroup: '', NetworkName: '', Bridge: '', VLAN: 0, Model: '', MacAddress: '',
  IPPolicy: '', StaticIP: '', Prefix: 0, Gateway: '', DNS: '', PCISlotNumber: null, ...over,
});

t.test('payload mapping: NICs, extraConfig, allocation', async (t) => {
  t.same(nicsOf([nic({ NetworkName: 'n1', Model: 'e1000', MacAddress: '52:54:00:AA:00:01' })], undefined, 'Create'), [{ network: 'n1', model: 'e1000', mac: '52:54:00:aa:00:01' }]);
  t.same(nicsOf([nic({ Bridge: 'br0' })], 'dflt', 'Create'), [{ bridge: 'br0', model: 'virtio' }], 'bridge wins, default model virtio');
  t.same(nicsOf([nic({})], 'dflt', 'Create'), [{ network: 'dflt', model: 'virtio' }], 'Provider default network');
  t.throws(() => nicsOf([nic({})], undefined, 'Create'), /neither a libvirt network nor a bridge/);
  t.throws(() => nicsOf([nic({ NetworkName: 'n', MacAddress: 'zz' })], undefined, 'Create'), /MAC/);
  t.throws(() => nicsOf([nic({ NetworkName: 'n', Model: 'tulip' })], undefined, 'Create'), /model/);
  const { extras, ignored } = extrasOf({ ...classPayload(2, 512), ExtraConfig: { 'libvirt.machine': 'q35', maxVcpus: '8', 'guestinfo.x': 'y' } }, 'Create');
  t.same(extras, { machine: 'q35', maxVcpus: 8 });
  t.same(ignored, ['guestinfo.x'], 'unmapped keys are reported, not applied');
  const hot = extrasOf({ ...classPayload(2, 512), PerformanceProfile: { CPUHotAddEnabled: true, MemoryHotAddEnabled: true } }, 'Create');
  t.same(hot.extras, { maxVcpus: 4, maxMemoryMiB: 1024 }, 'hot-add leaves headroom');
  t.throws(() => extrasOf({ ...classPayload(), ExtraConfig: { maxVcpus: 'x' } }, 'Create'), /positive integer/);
});

t.test('error categories from libvirt messages', async (t) => {
  const cases: [string, string][] = [
    ["error: failed to get domain 'x'", 'NotFound'],
    ['error: Domain snapshot not found: no domain snapshot with matching name', 'NotFound'],
    ['error: XML error: Invalid value for attribute', 'InvalidSpec'],
    ['error: failed to connect to the hypervisor\nerror: Cannot recv data: ssh: connect to host h port 22: Connection refused', 'Retryable'],
    ['error: Cannot recv data: Host key verification failed.: Connection reset by peer', 'Unauthenticated'],
    ['error: Cannot recv data: root@h: Permission denied (publickey).', 'Unauthenticated'],
  ];
  for (const [msg, cat] of cases) t.equal(classifyLibvirtError(msg), cat, msg);
});

t.test('connection: ssh needs known hosts; secrets stay off the command line', async (t) => {
  const e = await openConnection({ endpoint: 'qemu+ssh://root@h/system', credentials: {}, insecureSkipVerify: false }).catch((x) => x);
  t.ok(isProviderError(e, 'InvalidSpec'), 'no knownHosts: InvalidSpec');
  t.match(e.message, /knownHosts/);
  const c = await openConnection({ endpoint: 'qemu+ssh://h/system', credentials: { knownHosts: 'h ssh-ed25519 AAAA', sshPrivateKey: 'KEY', username: 'virt' }, insecureSkipVerify: false });
  t.teardown(() => c.dispose());
  t.match(c.uri, /^qemu\+ssh:\/\/virt@h\/system\?command=.*&no_tty=1$/);
  t.notMatch(c.uri, /KEY/);
  t.equal(c.remote, true);
  const local = await openConnection({ endpoint: 'qemu:///system', credentials: {}, insecureSkipVerify: false });
  t.equal(local.uri, 'qemu:///system');
  t.equal(local.remote, false);
  t.ok(isProviderError(await openConnection({ endpoint: 'https://x', credentials: {}, insecureSkipVerify: false }).catch((x) => x), 'InvalidSpec'));
});
