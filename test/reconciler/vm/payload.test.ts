/** The provider payloads of a VM (§15.5): exact keys, unit conversions, precedence rules. */
import t from 'tap';
import { classPayload, createRequest, imagePayload, mergeUserData, networkPayloads, placementPayload, providerVmName, vmPayload } from '../../../src/reconciler/vm/payload';
import { quantityToBytes, quantityToMiB } from '../../../src/reconciler/vm/quantity';
import { stringifyProviderRaw } from '../../../src/reconciler/vm/status-draft';
import { durationMs } from '../../../src/reconciler/duration';
import { parseLibraryRef } from '../../../src/providers/vsphere/library-ref';

const vm = (spec: Record<string, unknown>): any => ({ apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VirtualMachine', metadata: { name: 'web', namespace: 'ns' }, spec: { providerRef: { name: 'p' }, classRef: { name: 'c' }, ...spec } });

t.test('quantities and durations', async (t) => {
  t.equal(quantityToBytes('4Gi'), 4 * 2 ** 30);
  t.equal(quantityToBytes('1.5G'), 1.5e9);
  t.equal(quantityToBytes('2e3'), 2000);
  t.equal(quantityToBytes(512), 512);
  t.equal(quantityToMiB('1500Mi'), 1500);
  t.equal(quantityToMiB('1G'), 953, 'floor of 1e9 / 2^20');
  t.throws(() => quantityToBytes('lots'), /not a Kubernetes quantity/);
  t.equal(durationMs('1m30s', 0), 90_000);
  t.equal(durationMs('500ms', 0), 500);
  t.equal(durationMs(undefined, 60_000), 60_000);
  t.equal(durationMs('soon', 7), 7, 'unparsable falls back');
});

t.test('class payload: Go field names, units, nulls', async (t) => {
  const p = classPayload({ cpu: 2, memory: '4Gi', diskDefaults: { size: '40Gi', type: 'thin' }, resourceLimits: { memoryLimit: '8Gi' } } as any);
  t.same(Object.keys(p), ['CPU', 'MemoryMiB', 'Firmware', 'DiskDefaults', 'GuestToolsPolicy', 'ExtraConfig', 'PerformanceProfile', 'SecurityProfile', 'ResourceLimits']);
  t.equal(p.MemoryMiB, 4096);
  t.same(p.DiskDefaults, { Type: 'thin', SizeGiB: 40 });
  t.equal(p.ExtraConfig, null);
  t.equal(p.PerformanceProfile, null);
  t.same(p.ResourceLimits, { CPULimit: 0, CPUReservation: 0, MemoryLimitMiB: 8192, MemoryReservationMiB: 0, CPUShares: 0 });
  t.equal(classPayload({ cpu: 1, memory: '4Pi' } as any).MemoryMiB, 2147483647, 'clamped to int32');
});

t.test('image payload precedence (VM-5, VM-6, VM-10)', async (t) => {
  const img = (source: unknown): any => ({ spec: { source } });
  t.same(imagePayload(vm({ imageRef: { name: 'i' } }), img({ vsphere: { templateName: 'tmpl' } })), { TemplateName: 'tmpl', Path: '', URL: '', Format: 'template', Checksum: '', ChecksumType: 'sha256' });
  t.same(imagePayload(vm({ imageRef: { name: 'i' } }), img({ libvirt: { url: 'https://x/u.img', format: 'qcow2', checksum: 'ab', checksumType: 'sha512' } })), { TemplateName: '', Path: '', URL: 'https://x/u.img', Format: 'qcow2', Checksum: 'ab', ChecksumType: 'sha512' });
  t.equal(imagePayload(vm({ imageRef: { name: 'i' } }), img({ proxmox: { templateID: 9000, templateName: 'ubuntu' } })).TemplateName, '9000', 'templateID wins, as a string');
  t.same(imagePayload(vm({ importedDisk: { diskID: 'd1' } }), undefined), { TemplateName: '', Path: '/var/lib/libvirt/images/d1.qcow2', URL: '', Format: 'qcow2', Checksum: '', ChecksumType: 'sha256' });
  t.equal(imagePayload(vm({ importedDisk: { diskID: 'd1', format: 'raw', path: '/data/d1.img' } }), undefined).Path, '/data/d1.img');
});

t.test('image payload: a vSphere content library item travels as TemplateName contentlib://', async (t) => {
  const img = (source: unknown): any => ({ spec: { source } });
  const p = imagePayload(vm({ imageRef: { name: 'i' } }), img({ vsphere: { contentLibrary: { library: 'Golden Images', item: 'ubuntu/22.04', version: '3' } } }));
  t.same(p, { TemplateName: 'contentlib://Golden%20Images/ubuntu%2F22.04?version=3', Path: '', URL: '', Format: 'template', Checksum: '', ChecksumType: 'sha256' }, 'wire shape unchanged, names percent-encoded');
  t.same(parseLibraryRef(p.TemplateName), { library: 'Golden Images', item: 'ubuntu/22.04', version: '3' }, 'the provider reads it back');
  t.equal(imagePayload(vm({ imageRef: { name: 'i' } }), img({ vsphere: { contentLibrary: { library: 'lib', item: 'tmpl' } } })).TemplateName, 'contentlib://lib/tmpl', 'no version: no query');
  t.equal(imagePayload(vm({ imageRef: { name: 'i' } }), img({ vsphere: { templateName: 't', contentLibrary: { library: 'lib', item: 'x' } } })).TemplateName, 't', 'templateName wins');
  t.equal(parseLibraryRef('ubuntu-22.04'), undefined, 'a plain template name is not a library reference');
  t.throws(() => parseLibraryRef('contentlib://only-library'), /not contentlib:\/\/<library>\/<item>/);
});

t.test('networks: VM addressing, attachment backing, later provider blocks win', async (t) => {
  const attachments = new Map<string, any>([['net', { spec: { network: { vsphere: { portgroup: 'PG-1', vlan: { vlanID: 100 }, pciSlotNumber: 33 }, libvirt: { networkName: 'isolated', model: 'virtio' }, proxmox: { bridge: 'vmbr1', vlanTag: 7 } } } }]]);
  const [nic] = networkPayloads(vm({ networks: [{ name: 'eth0', networkRef: { name: 'net' }, ipAddress: '198.51.100.9', prefix: 24, gateway: '198.51.100.1', dns: '1.1.1.1' }] }), attachments);
  t.same(nic, { Name: 'eth0', Portgroup: 'PG-1', NetworkName: 'isolated', Bridge: 'vmbr1', VLAN: 7, Model: 'virtio', MacAddress: '', IPPolicy: '', StaticIP: '198.51.100.9', Prefix: 24, Gateway: '198.51.100.1', DNS: '1.1.1.1', PCISlotNumber: 33 });
  const [bare] = networkPayloads(vm({ networks: [{ name: 'eth1' }] }), new Map());
  t.equal(bare!.PCISlotNumber, null, 'null, not 0, when unset');
});

t.test('placement and the whole create payload', async (t) => {
  t.equal(placementPayload(vm({})), undefined, 'absent without spec.placement');
  t.same(placementPayload(vm({ placement: { storagePod: 'DSC', host: 'h1', folder: '/vm' } })), { Datastore: '', StoragePod: 'DSC', Cluster: '', Folder: '/vm', Host: 'h1' });
  t.same(placementPayload(vm({ placement: { resourcePool: 'gold/web' } })), { Datastore: '', StoragePod: '', Cluster: '', Folder: '', Host: '', ResourcePool: 'gold/web' });
  const req = createRequest({ vm: vm({ imageRef: { name: 'i' }, resources: { cpu: 8 }, disks: [{ name: 'data', sizeGiB: 100 }], tags: ['a'] }), classSpec: { cpu: 2, memory: '4Gi' } as any, attachments: new Map(), userData: '#cloud-config\n' });
  t.equal(req.class.CPU, 8, 'the per-VM override goes into the payload');
  t.equal(req.class.MemoryMiB, 4096);
  t.same(req.disks, [{ SizeGiB: 100, Type: 'thin', Name: 'data' }]);
  const desired = vmPayload(req);
  t.same(Object.keys(desired), ['Name', 'Class', 'Image', 'Networks', 'Disks', 'UserData', 'MetaData', 'Placement', 'Tags']);
  t.same(desired.UserData, { CloudInitData: '#cloud-config\n', Type: 'cloud-init' });
  t.equal(desired.MetaData, null);
  t.equal(desired.Placement, null);
});

t.test('user-data from inline and Secret becomes one multipart document (VM-11)', async (t) => {
  t.equal(mergeUserData('a', undefined), 'a');
  t.equal(mergeUserData(undefined, 'b'), 'b');
  t.equal(mergeUserData(undefined, undefined), undefined);
  const both = mergeUserData('#cloud-config\na: 1', '#cloud-config\nb: 2')!;
  t.match(both, /^Content-Type: multipart\/mixed; boundary="VIRTRIGAUD_CLOUD_INIT_BOUNDARY"/);
  t.equal(both.split('Content-Type: text/cloud-config').length - 1, 2, 'two parts');
  t.match(both, /--VIRTRIGAUD_CLOUD_INIT_BOUNDARY--\r\n$/);
});

t.test('status.provider values are strings; __proto__ is dropped', async (t) => {
  const raw = JSON.parse('{"n": 3, "b": true, "o": {"x": 1}, "nil": null, "__proto__": {"polluted": 1}}');
  const out = stringifyProviderRaw(raw);
  t.same(out, { n: '3', b: 'true', o: '{"x":1}', nil: '' });
  t.equal(({} as any).polluted, undefined);
});

t.test('provider-side names never collide across namespaces; the uid travels; a diskID is never a path', async (t) => {
  const vm = (ns: string, name: string, extra: Record<string, unknown> = {}): any => ({ metadata: { namespace: ns, name, uid: `uid-${ns}-${name}` }, spec: extra });
  t.equal(providerVmName(vm('team', 'web'), 'team'), 'web', 'same namespace: the plain name');
  t.equal(providerVmName(vm('team', 'a-web'), 'other'), 'team_a-web');
  t.equal(providerVmName(vm('team-a', 'web'), 'other'), 'team-a_web', 'team/a-web and team-a/web stay apart');
  t.not(providerVmName(vm('team', 'a.web'), 'team'), providerVmName(vm('a', 'web'), 'team'), 'a same-namespace name cannot look like a qualified one');
  const req = createRequest({ vm: vm('team', 'web'), classSpec: { cpu: 1, memory: '1Gi' }, attachments: new Map() });
  t.equal(req.uid, 'uid-team-web', 'the VirtualMachine uid is in the create request');
  t.equal(imagePayload(vm('t', 'x', { importedDisk: { diskID: '../../etc/passwd', format: 'raw' } }), undefined).Path, '', 'a diskID with separators becomes no path');
  t.equal(imagePayload(vm('t', 'x', { importedDisk: { diskID: 'disk-1', format: 'qcow2' } }), undefined).Path, '/var/lib/libvirt/images/disk-1.qcow2');
});

t.test('Proxmox fields of the VMImage and the VMNetworkAttachment reach the payload', async (t) => {
  const v: any = { metadata: { name: 'web', namespace: 'a' }, spec: { imageRef: { name: 'img' }, networks: [{ name: 'eth0', networkRef: { name: 'lan' } }] } };
  const image: any = { spec: { source: { proxmox: { templateID: 9000, fullClone: false, storage: 'local-lvm', format: 'raw' } } } };
  t.match(imagePayload(v, image), { TemplateName: '9000', FullClone: false, Storage: 'local-lvm', Format: 'raw' });
  const nets = networkPayloads(v, new Map<string, any>([['lan', { metadata: { name: 'lan' }, spec: { network: { proxmox: { bridge: 'vmbr1', firewall: true, rateLimit: 12.5, mtu: 9000 } } } }]]));
  t.match(nets[0], { Bridge: 'vmbr1', Firewall: true, RateLimit: 12.5, MTU: 9000 });
});
