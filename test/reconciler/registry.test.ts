/** The implementations `virtrigaud run` serves in process. */
import t from 'tap';
import { defaultRegistry } from '../../src/reconciler/operator';

t.test('the default registry has every in-process provider', async (t) => {
  t.same(defaultRegistry().names(), ['libvirt', 'memory', 'qemu', 'vsphere']);
  await t.rejects(defaultRegistry().build('proxmox', { namespace: 'n', name: 'p', type: 'proxmox', endpoint: 'https://pve.example.com', credentials: {}, defaults: {}, insecureSkipVerify: false }), /no in-process provider "proxmox" \(registered: libvirt, memory, qemu, vsphere\)/);
});
