/**
 * cloud-init network configuration (version 2) for NICs the reconciler gave
 * a static address (VMNetworkAttachment `ipAllocation` Static or Pool, or a
 * NIC's own `ipAddress`) or none at all (`ipAllocation.type` None). Each NIC is matched by its MAC, so the address
 * lands on the right interface whatever the guest names it; NICs without a
 * static address keep DHCP. Written as JSON (valid YAML), so no value from
 * a spec can change the document's structure.
 */
import { createHash } from 'node:crypto';
import type { NetworkPayload } from '../provider';

/** A MAC with QEMU's 52:54:00 prefix, stable per VM (its uid, else its name) and NIC index. */
export function stableMac(vm: string, index: number): string {
  const d = createHash('sha256').update(`${vm}#${index}`).digest();
  return ['52', '54', '00', d[0]!, d[1]!, d[2]!].map((x) => (typeof x === 'number' ? x.toString(16).padStart(2, '0') : x)).join(':');
}

/** True when some NIC carries a static address. */
export function hasStaticAddress(networks: readonly NetworkPayload[]): boolean {
  return networks.some((n) => !!n.StaticIP);
}

/** True when some NIC needs more than DHCP: a static address, or no addressing at all (IPPolicy `none`). */
function needsConfig(networks: readonly NetworkPayload[]): boolean {
  return networks.some((n) => !!n.StaticIP || n.IPPolicy === 'none');
}

/** The network-config for NICs with these MACs (index-aligned with `networks`), or undefined when every NIC uses DHCP. */
export function networkConfig(networks: readonly NetworkPayload[], macs: readonly string[]): string | undefined {
  if (!needsConfig(networks)) return undefined;
  const ethernets: Record<string, unknown> = {};
  networks.forEach((n, i) => {
    const match = { macaddress: macs[i]! };
    if (!n.StaticIP) {
      // ipAllocation None: the interface comes up without an address.
      ethernets[`nic${i}`] = { match, dhcp4: n.IPPolicy !== 'none' };
      return;
    }
    const address = n.StaticIP.includes('/') ? n.StaticIP : `${n.StaticIP}/${n.Prefix || 24}`;
    const dns = n.DNS.split(',').map((s) => s.trim()).filter(Boolean);
    ethernets[`nic${i}`] = {
      match, dhcp4: false, addresses: [address],
      ...(n.Gateway ? { routes: [{ to: 'default', via: n.Gateway }] } : {}),
      ...(dns.length ? { nameservers: { addresses: dns } } : {}),
    };
  });
  return `${JSON.stringify({ network: { version: 2, ethernets } }, null, 2)}\n`;
}
