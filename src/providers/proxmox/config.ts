/**
 * PVE VM config keys from the manager's payloads: cores/memory, NICs
 * (`netN`), cloud-init (`ciuser`, `sshkeys`, `ipconfigN`, `cicustom`) and
 * the description that carries the VM uid.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ProviderError, type ClassPayload, type NetworkPayload } from '../provider';
import type { ProxmoxLimits } from './limits';

export const UID_LINE = 'virtrigaud.io/uid=';
export const MANAGED_LINE = 'virtrigaud.io/managed';

export function requireSize(op: string, cpu: number, memoryMiB: number): void {
  if (!Number.isInteger(cpu) || cpu < 1 || cpu > 512) throw new ProviderError('InvalidSpec', `${op}: CPU must be an integer from 1 to 512 (got ${cpu})`, op);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16) throw new ProviderError('InvalidSpec', `${op}: memory must be at least 16 MiB (got ${memoryMiB})`, op);
}

/**
 * Marks a clone whose configuration (size, NICs, cloud-init, disks) is not
 * finished: ListVMs leaves such a VM out and a Create with the same uid
 * resumes it, so a create cut short after the clone never leaves a second
 * VM or a half-made one that the reconciler adopts.
 */
export const CREATING_LINE = 'virtrigaud.io/state=creating';

/** The description: the uid on a line of its own, so it survives user notes around it. */
export function description(uid: string | undefined, creating = false): string {
  return [MANAGED_LINE, ...(uid ? [`${UID_LINE}${uid}`] : []), ...(creating ? [CREATING_LINE] : [])].join('\n');
}

export function uidOf(desc: string | undefined): string | undefined {
  for (const line of (desc ?? '').split('\n')) if (line.startsWith(UID_LINE)) return line.slice(UID_LINE.length).trim() || undefined;
  return undefined;
}

/** True for a clone the provider has not finished configuring. */
export function isCreating(desc: string | undefined): boolean {
  return (desc ?? '').split('\n').some((l) => l.trim() === CREATING_LINE);
}

export function sizeConfig(cls: ClassPayload): Record<string, string | number> {
  const out: Record<string, string | number> = { cores: cls.CPU, sockets: 1, memory: cls.MemoryMiB };
  const fw = cls.Firmware.toLowerCase();
  if (fw === 'uefi' || fw === 'efi') out.bios = 'ovmf';
  return out;
}

const MODELS = ['virtio', 'e1000', 'rtl8139', 'vmxnet3'];

/** `netN` values; bridges only from the operator's list. */
export function netConfig(nets: readonly NetworkPayload[], limits: ProxmoxLimits, defaultBridge: string | undefined, op: string): Record<string, string> {
  const out: Record<string, string> = {};
  nets.forEach((n, i) => {
    const bridge = n.Bridge || defaultBridge || limits.first('bridge') || 'vmbr0';
    limits.check('bridge', bridge, op, n.Bridge ? `networks[${i}].bridge` : defaultBridge ? `networks[${i}].bridge (Provider spec.defaults.network)` : `networks[${i}].bridge (none given)`);
    const model = n.Model || 'virtio';
    if (!MODELS.includes(model)) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].model: Unsupported value: ${JSON.stringify(model)}: supported values: ${MODELS.join(', ')}`, op);
    if (n.MacAddress && !/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/.test(n.MacAddress)) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].macAddress: Invalid value: ${JSON.stringify(n.MacAddress)}`, op);
    const parts = [n.MacAddress ? `${model}=${n.MacAddress.toUpperCase()}` : model, `bridge=${bridge}`];
    if (n.VLAN) {
      if (!Number.isInteger(n.VLAN) || n.VLAN < 1 || n.VLAN > 4094) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].vlan: Invalid value: ${n.VLAN}: must be 1 to 4094`, op);
      parts.push(`tag=${n.VLAN}`);
    }
    if (n.Firewall) parts.push('firewall=1');
    if (n.RateLimit !== undefined && n.RateLimit !== 0) {
      if (!(n.RateLimit > 0)) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].rateLimit: Invalid value: ${n.RateLimit}: must be a positive number of MB/s`, op);
      parts.push(`rate=${n.RateLimit}`);
    } else if (n.IngressLimit || n.EgressLimit) {
      // VMNetworkAttachment qos (bit/s each way): PVE has one cap for both directions, `rate` in MiB/s
      // (its Network.pm multiplies by 1024*1024), so the tighter of the two, never rounded up.
      const bits = Math.min(...[n.IngressLimit, n.EgressLimit].filter((x): x is number => !!x && x > 0));
      parts.push(`rate=${Math.max(0.001, Math.floor((bits / 8 / 1024 / 1024) * 1000) / 1000)}`);
    }
    if (n.MTU !== undefined && n.MTU !== 0) {
      if (!Number.isInteger(n.MTU) || n.MTU < 68 || n.MTU > 65520) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].mtu: Invalid value: ${n.MTU}: must be 68 to 65520`, op);
      // PVE takes mtu on virtio NICs only.
      if (model !== 'virtio') throw new ProviderError('InvalidSpec', `${op}: networks[${i}].mtu: Invalid value: ${n.MTU}: Proxmox VE sets the MTU of virtio NICs only (model ${model})`, op);
      parts.push(`mtu=${n.MTU}`);
    }
    out[`net${i}`] = parts.join(',');
    out[`ipconfig${i}`] = ipconfig(n, i, op);
  });
  return out;
}

function ipconfig(n: NetworkPayload, i: number, op: string): string {
  if (!n.StaticIP) return 'ip=dhcp';
  const ip = n.StaticIP.includes('/') ? n.StaticIP : `${n.StaticIP}/${n.Prefix || 24}`;
  if (!/^[0-9.]+\/\d{1,2}$/.test(ip)) throw new ProviderError('InvalidSpec', `${op}: networks[${i}].ipAddress: Invalid value: ${JSON.stringify(n.StaticIP)}: must be an IPv4 address`, op);
  return n.Gateway ? `ip=${ip},gw=${n.Gateway}` : `ip=${ip}`;
}

/**
 * cloud-init from the rendered user-data: `ciuser` and `sshkeys` (PVE wants
 * the keys URL-encoded, `%20` for spaces) for what those fields can say.
 * Anything more (packages, runcmd, write_files, a second user, a script)
 * needs the whole document as a `cicustom` snippet: see {@link needsSnippet}.
 */
export function cloudInit(userData: string | undefined): Record<string, string> {
  if (!userData) return {};
  const out: Record<string, string> = {};
  const user = /^\s*(?:user|ciuser):\s*([A-Za-z_][A-Za-z0-9_-]*)\s*$/m.exec(userData)?.[1]
    ?? /^\s*-\s*name:\s*([A-Za-z_][A-Za-z0-9_-]*)\s*$/m.exec(userData)?.[1];
  if (user) out.ciuser = user;
  const keys = [...userData.matchAll(/(ssh-(?:rsa|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+(?: [^\n"']*)?/g)].map((m) => m[0].trim());
  if (keys.length) out.sshkeys = encodeSshKeys(keys);
  return out;
}

const PLAIN_TOP = new Set(['user', 'ciuser', 'users', 'ssh_authorized_keys']);
const PLAIN_USER = new Set(['name', 'ssh_authorized_keys', 'ssh-authorized-keys']);

/**
 * True when the user-data says more than `ciuser` and `sshkeys` carry: a
 * document that is not `#cloud-config`, or one with keys beyond one user and
 * its SSH keys. PVE then needs it whole as a snippet (`cicustom: user=...`).
 */
export function needsSnippet(userData: string | undefined): boolean {
  if (!userData || !userData.trim()) return false;
  if (!/^#cloud-config\s*$/m.test(userData.split('\n')[0] ?? '')) return true;
  let doc: unknown;
  try {
    doc = parseYaml(userData);
  } catch {
    return true;
  }
  if (doc === null || doc === undefined) return false;
  if (typeof doc !== 'object' || Array.isArray(doc)) return true;
  const d = doc as Record<string, unknown>;
  if (Object.keys(d).some((k) => !PLAIN_TOP.has(k))) return true;
  const users = d.users;
  if (users === undefined) return false;
  if (!Array.isArray(users) || users.length > 1) return true;
  return users.some((u) => typeof u !== 'object' || u === null || Object.keys(u).some((k) => !PLAIN_USER.has(k)));
}

/**
 * The snippet a user-data document lives in: named by its content
 * (`virtrigaud-<sha256, 16 hex>.yaml`), so the same document is one file and
 * a changed one another. PVE's API cannot write snippets (upload takes iso
 * and vztmpl only): whoever provisions the node's snippets storage (the
 * operator, over SSH or a shared mount) writes it there.
 */
export function snippetName(userData: string): string {
  return `virtrigaud-${createHash('sha256').update(userData).digest('hex').slice(0, 16)}.yaml`;
}

/** PVE's encoding of `sshkeys`: URI-encoded, with `%20` (not `+`) for spaces. */
export function encodeSshKeys(keys: readonly string[]): string {
  return encodeURIComponent(keys.join('\n') + '\n');
}
