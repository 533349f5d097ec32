/** NICs of an in-process libvirt instance reach only the networks and bridges the operator lists. */
import t from 'tap';
import { isProviderError, type NetworkPayload } from '../../../src/providers/provider';
import { nicsOf } from '../../../src/providers/libvirt/spec';

const nic = (over: Partial<NetworkPayload>): NetworkPayload => ({
  Name: 'eth0', Portgroup: '', NetworkName: '', Bridge: '', VLAN: 0, Model: '', MacAddress: '', IPPolicy: '', StaticIP: '', Prefix: 0, Gateway: '', DNS: '', PCISlotNumber: null, ...over,
});
const refused = (f: () => unknown): string => {
  try {
    f();
    return 'allowed';
  } catch (e) {
    return isProviderError(e, 'InvalidSpec') ? e.message : `unexpected: ${String(e)}`;
  }
};

t.test('listed networks and bridges only; without a policy (direct use) anything', async (t) => {
  const policy = { networks: ['default'], bridges: ['br-tenants'] };
  t.same(nicsOf([nic({ NetworkName: 'default' }), nic({ Name: 'eth1', Bridge: 'br-tenants' })], undefined, 'Create', policy).map((n) => n.network ?? n.bridge), ['default', 'br-tenants']);
  t.match(refused(() => nicsOf([nic({ Bridge: 'br-mgmt' })], undefined, 'Create', policy)), /NIC eth0: bridge "br-mgmt" is not one the operator allows \(br-tenants\)/);
  t.match(refused(() => nicsOf([nic({ NetworkName: 'host-only' })], undefined, 'Create', policy)), /libvirt network "host-only" is not one the operator allows \(default\)/);
  t.match(refused(() => nicsOf([nic({})], 'sneaky', 'Create', policy)), /libvirt network "sneaky"/, 'the default network is checked too');
  t.match(refused(() => nicsOf([nic({ Bridge: 'br0' })], undefined, 'Create', { networks: [], bridges: [] })), /\(none\)/, 'deny by default');
  t.equal(refused(() => nicsOf([nic({ Bridge: 'br-mgmt' })], undefined, 'Create')), 'allowed');
});
