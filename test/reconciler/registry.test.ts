/** The drivers `virtrigaud run` serves in process. */
import t from 'tap';
import { defaultRegistry } from '../../src/reconciler/operator';

t.test('the default registry has the hypervisor drivers; the in-memory test double only on request', async (t) => {
  t.same(defaultRegistry().names(), ['firecracker', 'libvirt', 'proxmox', 'qemu', 'vsphere']);
  t.same(defaultRegistry({ testProviders: true }).names(), ['firecracker', 'libvirt', 'memory', 'proxmox', 'qemu', 'vsphere']);
  const ctx = {
    namespace: 'n', name: 'p', type: 'hyperv', endpoint: 'https://hv.example.com', credentials: {}, defaults: {}, insecureSkipVerify: false,
    instance: { name: 'pve', driver: 'memory' as const, namespaces: ['n'] },
  };
  await t.rejects(defaultRegistry().build('hyperv', ctx), /no in-process driver "hyperv" in this reconciler \(registered: firecracker, libvirt, proxmox, qemu, vsphere\)/);
  await t.rejects(defaultRegistry().build('memory', ctx), /no in-process driver "memory"/, 'memory is not served without the test flag');
});
