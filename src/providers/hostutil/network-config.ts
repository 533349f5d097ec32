/**
 * cloud-init network configuration (version 2) for NICs the reconciler gave
 * a static address (VMNetworkAttachment `ipAllocation` Static or Pool, or a
 * NIC's own `ipAddress`). Each NIC is matched by its MAC, so the address
 * lands on the right interface whatever the guest names it; NICs without a
 * static address keep DHCP. Written as JSON (valid YAML), so no value from
 * a spec can change the document's structure.
 */
import { createHash } from 'node:crypto';
import type { NetworkPayload } from '../provider';

/** A locally administered MAC with QEMU's 52:54:00 prefix, stable per VM name and NIC index. */
export function stableMac(vmName: string, index: number): string {
  const d = createHash('sha256').update(`${vmName}#${index}`).digest();
  return ['52', '54', '00', d[0]!, d[1]!, d[2]!].map((x) => (typeof x === 'number' ? x.toString(16).padStart(2, '0') : x)).join(':');
}

/** True when some NIC carries a static address (only then is a network-config written). */
export function hasStaticAddress(networks: readonly NetworkPayload[]): boolean {
  return networks.some((n) => !!n.StaticIP);
}

/** The network-config for NICs with these MACs (index-aligned with `networks`), or undefined when every NIC uses DHCP. */
export function networkConfig(networks: readonly NetworkPayload[], macs: readonly string[]): string | undefined {
  if (!hasStaticAddress(networks)) return undefined;
  const ethernets: Record<string, unknown> = {};
  networks.forEach((n, i) => {
    const match = { macaddress: macs[i]! };
    if (!n.StaticIP) {
      ethernets[`nic${i}`] = { match, dhcp4: true };
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
