/**
 * From the wire payloads (VMClass, networks, disks) to libvirt settings:
 * validation, firmware, extraConfig keys, NICs, allocation. Pure.
 */
import { ProviderError, type ClassPayload, type NetworkPayload } from '../provider';
import { detectAccel, type AccelProbePaths } from '../hostutil';
import type { NicSpec } from './domain-xml';

/** libvirt domain names we accept (also what our volume names are built from). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(name: string, op: string): void {
  if (!NAME.test(name)) throw new ProviderError('InvalidSpec', `VM name "${name}" is not a valid libvirt domain name (letters, digits, . _ -; at most 63)`, op);
}

export function checkSize(cpu: number, memoryMiB: number, op: string): void {
  if (!Number.isInteger(cpu) || cpu < 1) throw new ProviderError('InvalidSpec', `CPU must be a positive integer (got ${cpu})`, op);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16) throw new ProviderError('InvalidSpec', `memory must be at least 16 MiB (got ${memoryMiB})`, op);
}

export function firmwareOf(c: ClassPayload, op: string): 'bios' | 'uefi' {
  const f = (c.Firmware || 'BIOS').toUpperCase();
  if (f === 'BIOS') return 'bios';
  if (f === 'UEFI' || f === 'EFI') return 'uefi';
  throw new ProviderError('InvalidSpec', `firmware "${c.Firmware}" is not supported by libvirt (BIOS, UEFI)`, op);
}

/** The extraConfig keys that map onto the domain (`libvirt.` prefix optional). */
export interface DomainExtras {
  machine?: string;
  cpuMode?: string;
  maxVcpus?: number;
  maxMemoryMiB?: number;
  graphics?: boolean;
  domainType?: 'kvm' | 'qemu';
}

export function extrasOf(c: ClassPayload, op: string): { extras: DomainExtras; ignored: string[] } {
  const extras: DomainExtras = {};
  const ignored: string[] = [];
  const num = (k: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ProviderError('InvalidSpec', `extraConfig ${k}: "${v}" is not a positive integer`, op);
    return n;
  };
  for (const [key, v] of Object.entries(c.ExtraConfig ?? {})) {
    switch (key.replace(/^libvirt\./, '')) {
      case 'machine': extras.machine = v; break;
      case 'cpuMode': extras.cpuMode = v; break;
      case 'maxVcpus': extras.maxVcpus = num(key, v); break;
      case 'maxMemoryMiB': extras.maxMemoryMiB = num(key, v); break;
      case 'graphics': extras.graphics = v !== 'none' && v !== 'false'; break;
      case 'domainType':
        if (v !== 'kvm' && v !== 'qemu') throw new ProviderError('InvalidSpec', `extraConfig ${key}: "${v}" (kvm, qemu)`, op);
        extras.domainType = v;
        break;
      default: ignored.push(key);
    }
  }
  // Hot-add headroom: maxima above the boot size let reconfigure act live.
  const perf = c.PerformanceProfile as { CPUHotAddEnabled?: boolean; MemoryHotAddEnabled?: boolean } | null;
  if (perf?.CPUHotAddEnabled && extras.maxVcpus === undefined) extras.maxVcpus = c.CPU * 2;
  if (perf?.MemoryHotAddEnabled && extras.maxMemoryMiB === undefined) extras.maxMemoryMiB = c.MemoryMiB * 2;
  return { extras, ignored };
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
const MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'ne2k_pci', 'pcnet'];

/** The operator's choice of what NICs may attach to (an in-process instance's `networks` and `bridges`). */
export interface NicPolicy {
  readonly networks: readonly string[];
  readonly bridges: readonly string[];
}

export function nicsOf(networks: readonly NetworkPayload[], defaultNetwork: string | undefined, op: string, policy?: NicPolicy): NicSpec[] {
  return networks.map((n) => {
    if (n.MacAddress && !MAC.test(n.MacAddress)) throw new ProviderError('InvalidSpec', `NIC ${n.Name}: MAC address "${n.MacAddress}" is malformed`, op);
    const model = n.Model || 'virtio';
    if (!MODELS.includes(model)) throw new ProviderError('InvalidSpec', `NIC ${n.Name}: model "${model}" (${MODELS.join(', ')})`, op);
    const network = n.Bridge ? undefined : n.NetworkName || defaultNetwork;
    if (!n.Bridge && !network) throw new ProviderError('InvalidSpec', `NIC ${n.Name}: names neither a libvirt network nor a bridge, and the Provider has no default network`, op);
    // A bridge or network is a place on the host's networks: only those the operator lists.
    if (policy && n.Bridge && !policy.bridges.includes(n.Bridge)) {
      throw new ProviderError('InvalidSpec', `NIC ${n.Name}: bridge "${n.Bridge}" is not one the operator allows (${policy.bridges.length ? policy.bridges.join(', ') : 'none'})`, op);
    }
    if (policy && network && !policy.networks.includes(network)) {
      throw new ProviderError('InvalidSpec', `NIC ${n.Name}: libvirt network "${network}" is not one the operator allows (${policy.networks.length ? policy.networks.join(', ') : 'none'})`, op);
    }
    // VMNetworkAttachment qos (bit/s) as libvirt's <bandwidth> (kilobytes per second, at least 1).
    const kBps = (bits: number | undefined) => (bits ? Math.max(1, Math.round(bits / 8000)) : undefined);
    const inbound = kBps(n.IngressLimit);
    const outbound = kBps(n.EgressLimit);
    return {
      ...(n.Bridge ? { bridge: n.Bridge } : { network }), model, ...(n.MacAddress ? { mac: n.MacAddress.toLowerCase() } : {}),
      ...(inbound ? { inboundKBps: inbound } : {}), ...(outbound ? { outboundKBps: outbound } : {}),
    };
  });
}

/** thick/eagerzeroedthick allocate the whole disk; everything else is thin. */
export function isThick(type: string | undefined): boolean {
  return type === 'thick' || type === 'eagerzeroedthick';
}

/**
 * KVM where this host can really use it (see detectAccel: vmx/svm, a
 * read-write /dev/kvm, not PVM) or assumed (remote hypervisor hosts); else
 * TCG (`qemu`), with the reason.
 */
export function detectDomainType(remote: boolean, probe?: AccelProbePaths): { domainType: 'kvm' | 'qemu'; reason: string } {
  if (remote) return { domainType: 'kvm', reason: 'remote hypervisor host (assumed to have KVM)' };
  const d = detectAccel(probe);
  return { domainType: d.accel === 'kvm' ? 'kvm' : 'qemu', reason: d.reason };
}

/** Disk target names: vda, vdb, ... */
export function diskTarget(prefix: 'vd' | 'sd', index: number): string {
  return `${prefix}${String.fromCharCode(97 + index)}`;
}
