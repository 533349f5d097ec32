/** What each provider's Describe says about a change held until the next restart, read the same way. */
import t from 'tap';
import { pendingRestartOf } from '../../../src/reconciler/vm/pending';

t.test('each provider\'s way of saying it, and nothing pending', async (t) => {
  t.equal(pendingRestartOf({ pendingChanges: 'memory,cores', pendingReason: 'changes on a running VM apply at its next restart' }), 'pending on the provider: memory,cores (changes on a running VM apply at its next restart)', 'Proxmox');
  t.equal(pendingRestartOf({ pendingPowerCycle: 'vcpus 2 → 4' }), 'pending on the provider: vcpus 2 → 4', 'libvirt');
  t.equal(pendingRestartOf({ pendingRestart: 'true', pendingRestartReason: 'applies at the next power on' }), 'applies at the next power on', 'Firecracker');
  t.equal(pendingRestartOf({ pendingRestart: 'true' }), 'the provider holds the change until the VM restarts', 'QEMU');
  for (const raw of [{}, { pendingRestart: 'false' }, { pendingChanges: '' }, { pendingPowerCycle: null }]) t.equal(pendingRestartOf(raw), undefined, JSON.stringify(raw));
});
