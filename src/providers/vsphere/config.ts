/**
 * VirtualMachineConfigSpec from the manager's payloads (§15.5): CPU,
 * memory, firmware, hot-add, limits and extraConfig from the class;
 * cloud-init as guestinfo.userdata/metadata (base64), the way the VMware
 * datasource of cloud-init reads it. Keys are in WSDL order.
 */
import { ProviderError, type ClassPayload } from '../provider';
import { typed, type XmlNode } from './soap';

/** extraConfig key remembering where a named data disk lives (`<controllerKey>:<unit>`). */
export const DISK_KEY_PREFIX = 'virtrigaud.disk.';
export const MANAGED_KEY = 'virtrigaud.managed';
export const CLONED_FROM_KEY = 'virtrigaud.clonedFrom';
/**
 * extraConfig key holding the VM uid (CreateRequest.uid). Not a
 * `guestinfo.*` key: the guest can set those, and the VM's identity must
 * not be the guest's to claim. An empty value removes the key (a clone or
 * a template's copy loses the uid it inherited).
 */
export const UID_KEY = 'virtrigaud.uid';

export interface ConfigParts {
  readonly cpu?: number;
  readonly memoryMiB?: number;
  readonly cls?: ClassPayload;
  readonly deviceChange?: readonly XmlNode[];
  readonly extraConfig?: Readonly<Record<string, string>>;
  readonly annotation?: string;
}

export function requireSize(op: string, cpu: number, memoryMiB: number): void {
  if (!Number.isInteger(cpu) || cpu < 1 || cpu > 768) throw new ProviderError('InvalidSpec', `${op}: CPU must be an integer from 1 to 768 (got ${cpu})`, op);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 4) throw new ProviderError('InvalidSpec', `${op}: memory must be at least 4 MiB (got ${memoryMiB})`, op);
}

const flag = (v: unknown): string | undefined => (typeof v === 'boolean' ? String(v) : undefined);
const int = (v: unknown): string | undefined => (typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v)) : undefined);

export function firmwareOf(f: string | undefined): string | undefined {
  const v = (f ?? '').toLowerCase();
  return v === 'uefi' || v === 'efi' ? 'efi' : v === 'bios' ? 'bios' : undefined;
}

function allocation(reservation: unknown, limit: unknown, shares?: unknown): XmlNode | undefined {
  const out: XmlNode = {};
  if (int(reservation) !== undefined) out.reservation = int(reservation)!;
  if (int(limit) !== undefined) out.limit = int(limit)!;
  if (int(shares) !== undefined) out.shares = { shares: int(shares)!, level: 'custom' };
  return Object.keys(out).length ? out : undefined;
}

/** The spec; keys absent from `parts` are left out (vCenter keeps the current value). */
export function configSpec(parts: ConfigParts): XmlNode {
  const perf = parts.cls?.PerformanceProfile ?? {};
  const limits = parts.cls?.ResourceLimits ?? {};
  const spec: XmlNode = {};
  if (parts.annotation !== undefined) spec.annotation = parts.annotation;
  if (parts.cpu !== undefined) spec.numCPUs = String(parts.cpu);
  if (parts.memoryMiB !== undefined) spec.memoryMB = String(parts.memoryMiB);
  if (flag(perf.MemoryHotAddEnabled)) spec.memoryHotAddEnabled = flag(perf.MemoryHotAddEnabled)!;
  if (flag(perf.CPUHotAddEnabled)) spec.cpuHotAddEnabled = flag(perf.CPUHotAddEnabled)!;
  if (parts.deviceChange?.length) spec.deviceChange = [...parts.deviceChange];
  const cpuAlloc = allocation(limits.CPUReservation, limits.CPULimit, limits.CPUShares);
  if (cpuAlloc) spec.cpuAllocation = cpuAlloc;
  const memAlloc = allocation(limits.MemoryReservationMiB, limits.MemoryLimitMiB);
  if (memAlloc) spec.memoryAllocation = memAlloc;
  const extra = Object.entries(parts.extraConfig ?? {});
  if (extra.length) spec.extraConfig = extra.map(([key, value]) => typed('OptionValue', { key, value: { '@_xsi:type': 'xsd:string', '#text': value } }));
  const fw = firmwareOf(parts.cls?.Firmware);
  if (fw) spec.firmware = fw;
  if (flag(perf.NestedVirtualization)) spec.nestedHVEnabled = flag(perf.NestedVirtualization)!;
  return spec;
}

/** guestinfo keys for cloud-init's VMware datasource, or for Ignition's (`guestinfo.ignition.config.data`) when `format` is ignition. */
export function guestinfo(name: string, userData: string | undefined, metaData: string | undefined, format?: 'ignition'): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const out: Record<string, string> = {};
  const meta = metaData ?? `instance-id: ${name}\nlocal-hostname: ${name}\n`;
  out['guestinfo.metadata'] = b64(meta);
  out['guestinfo.metadata.encoding'] = 'base64';
  if (userData && format === 'ignition') {
    out['guestinfo.ignition.config.data'] = b64(userData);
    out['guestinfo.ignition.config.data.encoding'] = 'base64';
  } else if (userData) {
    out['guestinfo.userdata'] = b64(userData);
    out['guestinfo.userdata.encoding'] = 'base64';
  }
  return out;
}

/** The class's own extraConfig: keys must be vmx-style identifiers. */
export function classExtraConfig(cls: ClassPayload, op: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cls.ExtraConfig ?? {})) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(k)) throw new ProviderError('InvalidSpec', `${op}: extraConfig key ${JSON.stringify(k)} is not valid`, op);
    out[k] = String(v);
  }
  return out;
}
