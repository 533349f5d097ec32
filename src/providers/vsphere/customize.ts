/**
 * Guest customization for NICs given a static address: vSphere's own way
 * to set a guest's addresses (VMware Tools apply it at the first power-on),
 * one adapter mapping per NIC in NIC order (DHCP for those without one).
 */
import type { CreateRequest, NetworkPayload } from '../provider';
import { hasStaticAddress } from '../hostutil/network-config';
import { typed, type XmlNode } from './soap';

/** `24` → `255.255.255.0`. */
export function subnetMask(prefix: number): string {
  const bits = Math.max(0, Math.min(32, prefix));
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join('.');
}

/** A host name from the VM's name (`team_web` → `team-web`): letters, digits and "-", at most 63. */
function hostName(vmName: string): string {
  return vmName.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'vm';
}

function adapter(n: NetworkPayload): XmlNode {
  if (!n.StaticIP) return { adapter: { ip: typed('CustomizationDhcpIpGenerator') } };
  const [ip, len] = n.StaticIP.split('/');
  const dns = n.DNS.split(',').map((s) => s.trim()).filter(Boolean);
  // CustomizationIPSettings in WSDL order: ip, subnetMask, gateway, ipV6Spec, dnsServerList, ...
  return {
    adapter: {
      ip: typed('CustomizationFixedIp', { ipAddress: ip! }),
      subnetMask: subnetMask(Number(len ?? n.Prefix) || 24),
      ...(n.Gateway ? { gateway: [n.Gateway] } : {}),
      ...(dns.length ? { dnsServerList: dns } : {}),
    },
  };
}

/** The CustomizationSpec for a create, or undefined when no NIC has a static address (nothing to customize). */
export function customizationSpec(req: CreateRequest): XmlNode | undefined {
  if (!hasStaticAddress(req.networks)) return undefined;
  // CustomizationSpec in WSDL order: options, identity, globalIPSettings, nicSettingMap, encryptionKey.
  return {
    identity: typed('CustomizationLinuxPrep', { hostName: typed('CustomizationFixedName', { name: hostName(req.name) }), domain: 'local' }),
    globalIPSettings: {},
    nicSettingMap: req.networks.map(adapter),
  };
}
