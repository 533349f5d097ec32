/** Fields that are accepted but not applied by the VM's provider type are named in Unsupported (vm/unsupported.ts). */
import t from 'tap';
import { unsupportedFields } from '../../../src/reconciler/vm/unsupported';

t.test('attachment fields a VM\'s provider does not apply are named, per provider type', async (t) => {
  const vm: any = { metadata: { name: 'web', namespace: 'a' }, spec: { networks: [{ name: 'eth0', networkRef: { name: 'capped' } }, { name: 'eth1', networkRef: { name: 'capped' } }] } };
  const spec: any = { network: {}, qos: { ingressLimit: 1_000_000, egressLimit: 2_000_000 }, ipAllocation: { type: 'Static', staticConfig: { address: '10.0.0.5/24', routes: [{ destination: '10.1.0.0/16', gateway: '10.0.0.1' }] } } };
  const lines = (type: string) => unsupportedFields(vm, (n) => (n === 'capped' ? spec : undefined), type);
  t.same(lines('qemu'), [
    'VMNetworkAttachment capped: spec.qos.ingressLimit: Unsupported value: rate limits are applied by the libvirt, Firecracker and Proxmox providers only',
    'VMNetworkAttachment capped: spec.qos.egressLimit: Unsupported value: rate limits are applied by the libvirt, Firecracker and Proxmox providers only',
    'VMNetworkAttachment capped: spec.ipAllocation.staticConfig.routes: Unsupported value: static routes other than the default gateway are not delivered to guests',
  ], 'each attachment once, even when two NICs use it');
  t.same(lines('libvirt'), [lines('qemu')[2]], 'libvirt applies the rate limits');
  t.same(unsupportedFields(vm, () => undefined, 'qemu'), [], 'an attachment not (yet) in the cache adds nothing');
});

t.test('an Ignition config is unapplied only on provider types with no Ignition channel', async (t) => {
  const vm: any = { metadata: { name: 'web', namespace: 'a' }, spec: { userData: { ignition: { inline: '{}' } } } };
  for (const type of ['libvirt', 'qemu', 'vsphere', 'firecracker']) t.same(unsupportedFields(vm, () => undefined, type), [], type);
  t.match(unsupportedFields(vm, () => undefined, 'proxmox'), [/^spec\.userData\.ignition: Unsupported value: /]);
});
