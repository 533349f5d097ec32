/**
 * Pure helpers of the in-memory provider: deterministic addresses and
 * checksums derived from names, and conversions of VM records to the
 * Provider interface's shapes.
 */
import { createHash } from 'node:crypto';
import { ProviderError, type CreateRequest, type Description, type VMInfo } from '../provider';
import { plainTags, requestUid } from '../uid';
import type { DiskRecord, VMRecord } from './store';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** A guest address in TEST-NET-2 (198.51.100.0/24, RFC 5737), stable per VM name. */
export function ipFor(name: string): string {
  return `198.51.100.${(digest(name).readUInt16BE(0) % 254) + 1}`;
}

/** A locally administered MAC (QEMU's 52:54:00 prefix), stable per VM name and NIC index. */
export function macFor(name: string, index: number): string {
  const d = digest(`${name}#${index}`);
  return ['52', '54', '00', ...[0, 1, 2].map((i) => d[i]!.toString(16).padStart(2, '0'))].join(':');
}

export function sha256Hex(s: string): string {
  return digest(s).toString('hex');
}

export function requireSize(op: string, cpu: number, memoryMiB: number): void {
  if (!Number.isInteger(cpu) || cpu < 1) throw new ProviderError('InvalidSpec', `${op}: CPU must be an integer >= 1 (got ${cpu})`, op);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1) {
    throw new ProviderError('InvalidSpec', `${op}: MemoryMiB must be an integer >= 1 (got ${memoryMiB})`, op);
  }
}

const GIB = 1024 ** 3;

export function newVm(id: string, req: CreateRequest, powerState: 'On' | 'Off'): VMRecord {
  const bootSize = req.class.DiskDefaults?.SizeGiB || 20;
  const image = req.image.TemplateName || req.image.Path || req.image.URL;
  const disks: DiskRecord[] = [
    disk(id, 0, 'root', bootSize, req.class.DiskDefaults?.Type || 'thin', ''),
    ...req.disks.map((d, i) => disk(id, i + 1, d.Name || `disk${i + 1}`, d.SizeGiB, d.Type || 'thin', '')),
  ];
  const uid = requestUid(req);
  return {
    id,
    name: req.name,
    ...(uid ? { uid } : {}),
    cpu: req.class.CPU,
    memoryMiB: req.class.MemoryMiB,
    powerState,
    bootCount: powerState === 'On' ? 1 : 0,
    hardwareVersion: 19,
    image,
    tags: plainTags(req.tags),
    ...(req.userData !== undefined ? { userDataFormat: req.userDataFormat ?? 'cloud-init' } : {}),
    networks: req.networks.map((n, i) => ({ name: n.Name || n.NetworkName || `nic${i}`, mac: n.MacAddress || macFor(req.name, i), ...(n.StaticIP ? { ip: n.StaticIP } : {}) })),
    disks,
    snapshots: [],
    execLog: [],
  };
}

export function disk(vmId: string, index: number, name: string, sizeGiB: number, type: string, backingFile: string): DiskRecord {
  return { id: `${vmId}-disk${index}`, name, sizeGiB, type, format: 'qcow2', path: `/memory/${vmId}/${name}.qcow2`, backingFile };
}

/** The guest's addresses while it runs: its NICs' static addresses, else one derived from its name (as if from DHCP). */
function guestIps(vm: VMRecord): string[] {
  if (vm.powerState !== 'On') return [];
  const statics = vm.networks.flatMap((n) => (n.ip ? [n.ip] : []));
  return statics.length ? statics : [ipFor(vm.name)];
}

export function describeVm(vm: VMRecord): Description {
  return {
    exists: true,
    powerState: vm.powerState,
    // Like real guests, an address is only reported while running.
    ips: guestIps(vm),
    consoleURL: `memory://${vm.id}/console`,
    providerRaw: {
      id: vm.id,
      name: vm.name,
      cpu: vm.cpu,
      memoryMiB: vm.memoryMiB,
      bootCount: vm.bootCount,
      hardwareVersion: vm.hardwareVersion,
      snapshots: vm.snapshots.length,
      image: vm.image,
      ...(vm.userDataFormat ? { userDataFormat: vm.userDataFormat } : {}),
      ...(vm.clonedFrom ? { clonedFrom: vm.clonedFrom, cloneType: vm.cloneType } : {}),
    },
    cpu: vm.cpu,
    memoryMiB: vm.memoryMiB,
    ...(vm.uid ? { uid: vm.uid } : {}),
  };
}

export function vmInfo(vm: VMRecord): VMInfo {
  const ips = guestIps(vm);
  return {
    id: vm.id,
    name: vm.name,
    powerState: vm.powerState,
    ips,
    cpu: vm.cpu,
    memoryMiB: vm.memoryMiB,
    disks: vm.disks.map((d) => ({ id: d.id, path: d.path, sizeGiB: d.sizeGiB, format: d.format })),
    networks: vm.networks.map((n, i) => ({ name: n.name, mac: n.mac, ipAddress: i === 0 ? (ips[0] ?? '') : '' })),
    providerRaw: { hardwareVersion: String(vm.hardwareVersion), image: vm.image },
    ...(vm.uid ? { uid: vm.uid } : {}),
  };
}

export function diskBytes(d: DiskRecord): number {
  return d.sizeGiB * GIB;
}

