/**
 * Virtual devices: reading `config.hardware.device` and building the
 * `deviceChange` entries for disks and NICs (elements in WSDL order).
 */
import { ProviderError } from '../provider';
import { arr, moRef, node, num, text, typed, xsiType, ref, type MoRef, type XmlNode, type XmlValue } from './soap';

export interface Device {
  readonly key: number;
  readonly type: string;
  readonly label: string;
  readonly controllerKey?: number;
  readonly unitNumber?: number;
  readonly capacityKB?: number;
  readonly fileName?: string;
  readonly macAddress?: string;
  /** The raw element, to send back in an `edit`. */
  readonly raw: XmlNode;
}

const GiB_KB = 1024 * 1024;

/** Both units: newer servers read capacityInBytes (vcsim takes a missing one as 0). */
function capacity(sizeGiB: number): XmlNode {
  const kb = Math.round(sizeGiB * GiB_KB);
  return { capacityInKB: String(kb), capacityInBytes: String(kb * 1024) };
}

export function readDevices(v: XmlValue | undefined): Device[] {
  return arr(node(v)?.VirtualDevice).map((d) => {
    const n = node(d) ?? {};
    const backing = node(n.backing);
    return {
      key: num(n.key) ?? 0,
      type: xsiType(n) ?? 'VirtualDevice',
      label: text(node(n.deviceInfo)?.label) ?? '',
      controllerKey: num(n.controllerKey),
      unitNumber: num(n.unitNumber),
      capacityKB: num(n.capacityInKB),
      fileName: text(backing?.fileName),
      macAddress: text(n.macAddress),
      raw: n,
    };
  });
}

export const isDisk = (d: Device) => d.type === 'VirtualDisk';
export const isNic = (d: Device) => /^Virtual(E1000e?|Vmxnet\d?|Pcnet32|Sriov.*)$/.test(d.type) || d.type === 'VirtualEthernetCard';
const isScsi = (d: Device) => /SCSIController$|LsiLogic|BusLogic/.test(d.type);

/** A free unit on the first SCSI controller (unit 7 is the controller's own). */
export function scsiSlots(devices: readonly Device[]): { controllerKey: number; next: () => number } {
  const ctl = devices.find(isScsi);
  if (!ctl) throw new ProviderError('InvalidSpec', 'the template has no SCSI controller for extra disks', 'Create');
  const used = new Set(devices.filter((d) => d.controllerKey === ctl.key).map((d) => d.unitNumber));
  let unit = 0;
  return {
    controllerKey: ctl.key,
    next: () => {
      while (used.has(unit) || unit === 7) unit += 1;
      if (unit > 15) throw new ProviderError('InvalidSpec', 'no free SCSI unit for another disk', 'Create');
      used.add(unit);
      return unit;
    },
  };
}

/** `deviceChange` adding a new disk. */
export function addDisk(key: number, controllerKey: number, unitNumber: number, sizeGiB: number, type: string, datastore?: MoRef): XmlNode {
  const backing = typed('VirtualDiskFlatVer2BackingInfo', {
    fileName: '',
    ...(datastore ? { datastore: ref(datastore) } : {}),
    diskMode: 'persistent',
    thinProvisioned: String(type !== 'thick' && type !== 'eagerZeroedThick' && type !== 'thick-eager'),
    ...(type === 'eagerZeroedThick' || type === 'thick-eager' ? { eagerlyScrub: 'true' } : {}),
  });
  const device = typed('VirtualDisk', {
    key: String(key), backing, controllerKey: String(controllerKey), unitNumber: String(unitNumber),
    ...capacity(sizeGiB),
  });
  return typed('VirtualDeviceConfigSpec', { operation: 'add', fileOperation: 'create', device });
}

/** `deviceChange` growing an existing disk to `sizeGiB`. */
export function growDisk(d: Device, sizeGiB: number): XmlNode {
  const b = node(d.raw.backing) ?? {};
  const ds = moRef(b.datastore);
  const backing = typed(xsiType(b) ?? 'VirtualDiskFlatVer2BackingInfo', {
    fileName: d.fileName ?? '',
    ...(ds ? { datastore: ref(ds) } : {}),
    diskMode: text(b.diskMode) ?? 'persistent',
  });
  const device = typed('VirtualDisk', {
    key: String(d.key), backing, controllerKey: String(d.controllerKey ?? 0), unitNumber: String(d.unitNumber ?? 0),
    ...capacity(sizeGiB),
  });
  return typed('VirtualDeviceConfigSpec', { operation: 'edit', device });
}

export function removeDevice(d: Device): XmlNode {
  return typed('VirtualDeviceConfigSpec', { operation: 'remove', device: typed(d.type, { key: String(d.key) }) });
}

export type NicBacking =
  | { kind: 'network'; name: string; network: MoRef }
  | { kind: 'dvportgroup'; switchUuid: string; portgroupKey: string }
  | { kind: 'opaque'; network: MoRef };

const NIC_TYPES: Readonly<Record<string, string>> = { e1000: 'VirtualE1000', e1000e: 'VirtualE1000e', vmxnet3: 'VirtualVmxnet3', vmxnet2: 'VirtualVmxnet2' };

/** `deviceChange` adding a NIC; `model` virtio/empty means vmxnet3 (the paravirtual NIC). */
export function addNic(key: number, model: string, backing: NicBacking, mac: string): XmlNode {
  const b = backing.kind === 'dvportgroup'
    ? typed('VirtualEthernetCardDistributedVirtualPortBackingInfo', { port: { switchUuid: backing.switchUuid, portgroupKey: backing.portgroupKey } })
    : backing.kind === 'opaque'
      ? typed('VirtualEthernetCardNetworkBackingInfo', { deviceName: '', network: ref(backing.network) })
      : typed('VirtualEthernetCardNetworkBackingInfo', { deviceName: backing.name, network: ref(backing.network) });
  const device = typed(NIC_TYPES[model.toLowerCase()] ?? 'VirtualVmxnet3', {
    key: String(key),
    backing: b,
    connectable: { startConnected: 'true', allowGuestControl: 'true', connected: 'true' },
    addressType: mac ? 'manual' : 'generated',
    ...(mac ? { macAddress: mac } : {}),
  });
  return typed('VirtualDeviceConfigSpec', { operation: 'add', device });
}

