/**
 * Reading a VM: the properties the provider needs in one
 * RetrievePropertiesEx, and their mapping to Description / VMInfo.
 */
import type { Description, VMInfo } from '../provider';
import { UID_KEY } from './config';
import { isDisk, isNic, readDevices, type Device } from './devices';
import { arr, bool, moRef, node, num, retrieveOne, text, type CallOpts, type MoRef, type VimClient, type XmlValue } from './soap';

export const VM_PATHS = [
  'name', 'runtime.powerState', 'runtime.host', 'config.hardware.numCPU', 'config.hardware.memoryMB', 'config.template',
  'config.instanceUuid', 'config.firmware', 'config.cpuHotAddEnabled', 'config.memoryHotAddEnabled', 'config.hardware.device',
  'config.extraConfig', 'guest.ipAddress', 'guest.net', 'guest.toolsRunningStatus', 'guest.hostName', 'snapshot',
  'resourcePool', 'datastore', 'summary.config.vmPathName',
] as const;

export interface SnapshotNode {
  readonly ref: MoRef;
  readonly name: string;
  readonly description: string;
  readonly createTime: string;
}

export interface VmState {
  readonly ref: MoRef;
  readonly name: string;
  readonly powerState: 'poweredOn' | 'poweredOff' | 'suspended' | string;
  readonly cpu?: number;
  readonly memoryMiB?: number;
  readonly template: boolean;
  readonly instanceUuid: string;
  readonly firmware: string;
  readonly cpuHotAdd: boolean;
  readonly memoryHotAdd: boolean;
  readonly devices: Device[];
  readonly extraConfig: Record<string, string>;
  readonly ips: string[];
  readonly toolsRunning: boolean;
  readonly hostName: string;
  readonly snapshots: SnapshotNode[];
  readonly currentSnapshot?: string;
  readonly datastores: string[];
  readonly vmPathName: string;
}

export const vmRef = (id: string): MoRef => ({ type: 'VirtualMachine', value: id });

export async function readVm(c: VimClient, id: string, o?: CallOpts): Promise<VmState> {
  return vmState(vmRef(id), await retrieveOne(c, vmRef(id), VM_PATHS, o));
}

export function vmState(ref: MoRef, p: Readonly<Record<string, XmlValue>>): VmState {
  const extraConfig: Record<string, string> = {};
  for (const ov of arr(node(p['config.extraConfig'])?.OptionValue)) {
    const k = text(node(ov)?.key);
    if (k) extraConfig[k] = text(node(ov)?.value) ?? '';
  }
  const snap = node(p.snapshot);
  return {
    ref,
    name: text(p.name) ?? '',
    powerState: text(p['runtime.powerState']) ?? 'poweredOff',
    cpu: num(p['config.hardware.numCPU']),
    memoryMiB: num(p['config.hardware.memoryMB']),
    template: bool(p['config.template']) ?? false,
    instanceUuid: text(p['config.instanceUuid']) ?? '',
    firmware: text(p['config.firmware']) ?? '',
    cpuHotAdd: bool(p['config.cpuHotAddEnabled']) ?? false,
    memoryHotAdd: bool(p['config.memoryHotAddEnabled']) ?? false,
    devices: readDevices(p['config.hardware.device']),
    extraConfig,
    ips: ipsOf(p['guest.ipAddress'], p['guest.net']),
    toolsRunning: text(p['guest.toolsRunningStatus']) === 'guestToolsRunning',
    hostName: text(p['guest.hostName']) ?? '',
    snapshots: flatten(snap?.rootSnapshotList),
    currentSnapshot: moRef(snap?.currentSnapshot)?.value,
    datastores: arr(node(p.datastore)?.ManagedObjectReference).map((r) => moRef(r)?.value ?? '').filter(Boolean),
    vmPathName: text(p['summary.config.vmPathName']) ?? '',
  };
}

/** Guest IPs: every NIC's addresses, then the primary; no IPv6 link-local. */
function ipsOf(primary: XmlValue | undefined, net: XmlValue | undefined): string[] {
  const all: string[] = [];
  for (const nic of arr(node(net)?.GuestNicInfo)) for (const ip of arr(node(nic)?.ipAddress)) all.push(text(ip) ?? '');
  const p = text(primary);
  if (p) all.push(p);
  return [...new Set(all.filter((ip) => ip && !ip.toLowerCase().startsWith('fe80:')))];
}

function flatten(list: XmlValue | undefined): SnapshotNode[] {
  const out: SnapshotNode[] = [];
  for (const t of arr(list)) {
    const n = node(t);
    const ref = moRef(n?.snapshot);
    if (!n || !ref) continue;
    out.push({ ref, name: text(n.name) ?? '', description: text(n.description) ?? '', createTime: text(n.createTime) ?? '' });
    out.push(...flatten(n.childSnapshotList));
  }
  return out;
}

export const powerOf = (vm: VmState): 'On' | 'Off' => (vm.powerState === 'poweredOn' ? 'On' : 'Off');

export function describeOf(vm: VmState, consoleURL: string): Description {
  return {
    exists: true,
    powerState: powerOf(vm),
    ips: vm.ips,
    consoleURL,
    providerRaw: {
      moref: vm.ref.value,
      instanceUuid: vm.instanceUuid,
      powerState: vm.powerState,
      toolsRunning: vm.toolsRunning,
      ...(vm.hostName ? { guestHostName: vm.hostName } : {}),
      firmware: vm.firmware,
      ...(vm.vmPathName ? { vmPathName: vm.vmPathName } : {}),
      ...(vm.currentSnapshot ? { currentSnapshot: vm.currentSnapshot } : {}),
    },
    ...(vm.cpu !== undefined ? { cpu: vm.cpu } : {}),
    ...(vm.memoryMiB !== undefined ? { memoryMiB: vm.memoryMiB } : {}),
    ...(uidOf(vm) ? { uid: uidOf(vm) } : {}),
  };
}

/** The uid the VM was created with (extraConfig {@link UID_KEY}); undefined when it has none. */
export function uidOf(vm: VmState): string | undefined {
  return vm.extraConfig[UID_KEY] || undefined;
}

export function vmInfoOf(vm: VmState): VMInfo {
  const nics = vm.devices.filter(isNic);
  return {
    id: vm.ref.value,
    name: vm.name,
    powerState: powerOf(vm),
    ips: vm.ips,
    cpu: vm.cpu ?? 0,
    memoryMiB: vm.memoryMiB ?? 0,
    disks: vm.devices.filter(isDisk).map((d) => ({ id: String(d.key), path: d.fileName ?? '', sizeGiB: Math.round((d.capacityKB ?? 0) / 1024 / 1024), format: 'vmdk' })),
    networks: nics.map((n, i) => ({ name: n.label, mac: n.macAddress ?? '', ipAddress: i === 0 ? (vm.ips[0] ?? '') : '' })),
    providerRaw: { moref: vm.ref.value, instanceUuid: vm.instanceUuid, template: String(vm.template) },
    ...(uidOf(vm) ? { uid: uidOf(vm) } : {}),
  };
}
