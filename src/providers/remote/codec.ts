/**
 * Conversions between the Provider interface's shapes and provider.v1
 * messages (as proto-loader presents them: snake_case keys, enums by
 * name, int64 as numbers), in both directions: the client encodes
 * requests and decodes responses, the server adapter the reverse.
 */
import {
  POWER_OP_WIRE, ProviderError, USER_DATA_FORMAT_TAG, type Capabilities, type CreateRequest, type Description, type DiskInfo,
  type ExportDiskRequest, type ImportDiskRequest, type PowerOp, type TaskRef, type VMInfo,
} from '../provider';
import { liftRawUid, plainTags, splitUidTag, uidTag, withRawUid } from '../uid';
import { createJson, parseField, parseProviderRaw } from './payload';

/** A message as proto-loader hands it over. */
export type Wire = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const taskToWire = (t: TaskRef | undefined): Wire | null => (t && t.id ? { id: t.id } : null);
/** Any response carrying a non-empty task id is asynchronous (§15.6). */
export const taskFromWire = (t: Wire | null | undefined): TaskRef | undefined => (t && t.id ? { id: String(t.id) } : undefined);

export function createToWire(req: CreateRequest): Wire {
  return {
    name: req.name,
    user_data: req.userData ? Buffer.from(req.userData, 'utf8') : Buffer.alloc(0),
    meta_data: req.metaData ? Buffer.from(req.metaData, 'utf8') : Buffer.alloc(0),
    ...createJson(req),
    // The uid has no field: it is one more tag (UID_TAG_PREFIX). Only ours: a uid tag among the VM's own tags is dropped.
    // Nor has the user-data format: Ignition travels as a reserved tag too.
    tags: [...plainTags(req.tags), ...(req.uid ? [uidTag(req.uid)] : []), ...(req.userDataFormat ? [`${USER_DATA_FORMAT_TAG}${req.userDataFormat}`] : [])],
  };
}

export function createFromWire(w: Wire): CreateRequest {
  const rpc = 'Create';
  const text = (b: Buffer | undefined) => (b && b.length ? Buffer.from(b).toString('utf8') : undefined);
  const userData = text(w.user_data);
  const metaData = text(w.meta_data);
  const placement = parseField(rpc, 'placement_json', w.placement_json, undefined);
  const cls = parseField(rpc, 'class_json', w.class_json, undefined);
  if (!cls) throw new ProviderError('InvalidSpec', 'Create: class_json is required', rpc);
  const { uid, tags: withFormat } = splitUidTag(w.tags ?? []);
  const ignition = withFormat.includes(`${USER_DATA_FORMAT_TAG}ignition`);
  const tags = plainTags(withFormat);
  return {
    name: w.name,
    ...(uid ? { uid } : {}),
    class: cls,
    image: parseField(rpc, 'image_json', w.image_json, { TemplateName: '', Path: '', URL: '', Format: '', Checksum: '', ChecksumType: '' }),
    networks: parseField(rpc, 'networks_json', w.networks_json, []),
    disks: parseField(rpc, 'disks_json', w.disks_json, []),
    tags,
    ...(placement ? { placement } : {}),
    ...(userData !== undefined ? { userData } : {}),
    ...(ignition ? { userDataFormat: 'ignition' as const } : {}),
    ...(metaData !== undefined ? { metaData } : {}),
  };
}

export function powerOpToWire(op: PowerOp): string {
  const w = POWER_OP_WIRE[op];
  // Unknown ops are an error on the client side too: POWER_OP_UNSPECIFIED is never sent.
  if (!w) throw new ProviderError('InvalidSpec', `Power: unknown operation ${JSON.stringify(op)}`, 'Power');
  return w.name;
}

export function powerOpFromWire(name: string): PowerOp {
  const hit = (Object.keys(POWER_OP_WIRE) as PowerOp[]).find((k) => POWER_OP_WIRE[k].name === name);
  if (!hit) throw new ProviderError('InvalidSpec', `Power: unsupported operation ${name}`, 'Power');
  return hit;
}

export function describeFromWire(w: Wire): Description {
  // The uid comes back as the provider_raw key UID_RAW_KEY; lifted out into .uid.
  const { uid, raw } = liftRawUid(parseProviderRaw(w.provider_raw_json ?? ''));
  return {
    exists: !!w.exists,
    powerState: w.power_state ?? '',
    ips: w.ips ?? [],
    consoleURL: w.console_url ?? '',
    providerRaw: raw,
    ...(uid ? { uid } : {}),
  };
}

export function describeToWire(d: Description): Wire {
  return {
    exists: d.exists,
    power_state: d.powerState,
    ips: [...d.ips],
    console_url: d.consoleURL,
    provider_raw_json: d.exists || Object.keys(d.providerRaw).length ? JSON.stringify(withRawUid(d.providerRaw, d.uid)) : '',
  };
}

const CAP_KEYS: readonly (keyof Capabilities)[] = [
  'supportsReconfigureOnline', 'supportsDiskExpansionOnline', 'supportsSnapshots', 'supportsMemorySnapshots',
  'supportsLinkedClones', 'supportsImageImport', 'supportedDiskTypes', 'supportedNetworkTypes', 'supportsDiskExport',
  'supportsDiskImport', 'supportedExportFormats', 'supportedImportFormats', 'supportsExportCompression',
  'supportedExportBackends', 'supportedImportBackends', 'supportedTransferModes',
];
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function capabilitiesFromWire(w: Wire): Capabilities {
  return Object.fromEntries(CAP_KEYS.map((k) => {
    const v = w[snake(k)];
    return [k, k.startsWith('supported') ? [...(v ?? [])] : !!v];
  })) as unknown as Capabilities;
}

export function capabilitiesToWire(c: Capabilities): Wire {
  return Object.fromEntries(CAP_KEYS.map((k) => [snake(k), c[k]]));
}

export function exportToWire(r: ExportDiskRequest): Wire {
  return {
    vm_id: r.vmId, disk_id: r.diskId, snapshot_id: r.snapshotId, destination_url: r.url, format: r.format,
    compress: r.compress, credentials: { ...r.credentials }, backend_type: r.backendType,
    transfer_mode: r.transferMode, storage_options_json: r.storageOptionsJson,
  };
}

export function exportFromWire(w: Wire): ExportDiskRequest {
  return {
    vmId: w.vm_id, diskId: w.disk_id, snapshotId: w.snapshot_id, url: w.destination_url, format: w.format,
    compress: !!w.compress, credentials: w.credentials ?? {}, backendType: w.backend_type,
    transferMode: w.transfer_mode, storageOptionsJson: w.storage_options_json,
  };
}

export function importToWire(r: ImportDiskRequest): Wire {
  return {
    source_url: r.url, storage_hint: r.storageHint, format: r.format, target_name: r.targetName,
    verify_checksum: r.verifyChecksum, expected_checksum: r.expectedChecksum, credentials: { ...r.credentials },
    backend_type: r.backendType, transfer_mode: r.transferMode, storage_options_json: r.storageOptionsJson,
  };
}

export function importFromWire(w: Wire): ImportDiskRequest {
  return {
    url: w.source_url, storageHint: w.storage_hint, format: w.format, targetName: w.target_name,
    verifyChecksum: !!w.verify_checksum, expectedChecksum: w.expected_checksum, credentials: w.credentials ?? {},
    backendType: w.backend_type, transferMode: w.transfer_mode, storageOptionsJson: w.storage_options_json,
  };
}

export function diskInfoFromWire(w: Wire): DiskInfo {
  return {
    diskId: w.disk_id, format: w.format, virtualSizeBytes: Number(w.virtual_size_bytes), actualSizeBytes: Number(w.actual_size_bytes),
    path: w.path, isBootable: !!w.is_bootable, snapshots: w.snapshots ?? [], backingFile: w.backing_file, metadata: w.metadata ?? {},
  };
}

export function diskInfoToWire(d: DiskInfo): Wire {
  return {
    disk_id: d.diskId, format: d.format, virtual_size_bytes: d.virtualSizeBytes, actual_size_bytes: d.actualSizeBytes,
    path: d.path, is_bootable: d.isBootable, snapshots: [...d.snapshots], backing_file: d.backingFile, metadata: { ...d.metadata },
  };
}

export function vmInfoFromWire(w: Wire): VMInfo {
  const { uid, raw } = liftRawUid<string>(w.provider_raw ?? {});
  return {
    id: w.id, name: w.name, powerState: w.power_state, ips: w.ips ?? [], cpu: w.cpu, memoryMiB: Number(w.memory_mib),
    disks: (w.disks ?? []).map((d: Wire) => ({ id: d.id, path: d.path, sizeGiB: d.size_gib, format: d.format })),
    networks: (w.networks ?? []).map((n: Wire) => ({ name: n.name, mac: n.mac, ipAddress: n.ip_address })),
    providerRaw: raw,
    ...(uid ? { uid } : {}),
  };
}

export function vmInfoToWire(v: VMInfo): Wire {
  return {
    id: v.id, name: v.name, power_state: v.powerState, ips: [...v.ips], cpu: v.cpu, memory_mib: v.memoryMiB,
    disks: v.disks.map((d) => ({ id: d.id, path: d.path, size_gib: d.sizeGiB, format: d.format })),
    networks: v.networks.map((n) => ({ name: n.name, mac: n.mac, ip_address: n.ipAddress })),
    provider_raw: withRawUid(Object.fromEntries(Object.entries(v.providerRaw).map(([k, x]) => [k, String(x)])), v.uid),
  };
}
