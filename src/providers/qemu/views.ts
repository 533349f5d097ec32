/**
 * What the provider reports about a VM (Describe, ListVMs, GetDiskInfo,
 * capabilities), computed from config.json and the live process.
 */
import { pathToFileURL } from 'node:url';
import { NO_CAPABILITIES, ProviderError, type Capabilities, type Description, type DiskInfo, type VMInfo } from '../provider';
import { qemuImg } from '../hostutil';
import { GiB } from './disks';
import type { VmConfig } from './layout';
import { livePid } from './process';
import { pendingRestart, powerState, type Host, type Observed } from './power';

export const QEMU_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsReconfigureOnline: false,
  supportsDiskExpansionOnline: true,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportsLinkedClones: true,
  supportedDiskTypes: ['qcow2'],
  supportedNetworkTypes: ['none', 'user'],
};

export const NOT_FOUND: Description = { exists: false, powerState: '', ips: [], consoleURL: '', providerRaw: {} };

export function description(h: Host, cfg: VmConfig, o: Observed): Description {
  const on = o.pid !== undefined;
  return {
    exists: true,
    powerState: powerState(o),
    // No NIC (or a restricted user-mode one): the guest has no address anyone could reach.
    ips: [],
    consoleURL: pathToFileURL(h.layout.serialLog(cfg.id)).href,
    cpu: cfg.cpu,
    memoryMiB: cfg.memoryMiB,
    ...(cfg.uid ? { uid: cfg.uid } : {}),
    providerRaw: {
      name: cfg.name,
      qemuStatus: o.status,
      ...(on ? { pid: String(o.pid) } : {}),
      pendingRestart: String(on && pendingRestart(cfg)),
      ...(on && cfg.launched ? { runningCPU: String(cfg.launched.cpu), runningMemoryMiB: String(cfg.launched.memoryMiB) } : {}),
      ...(on && cfg.launched?.accel ? { accel: cfg.launched.accel } : {}),
      ...(cfg.shutdownDeadline !== undefined ? { shutdownDeadline: new Date(cfg.shutdownDeadline).toISOString() } : {}),
      ...(cfg.lastShutdown ? { lastShutdown: cfg.lastShutdown } : {}),
      snapshots: String(cfg.snapshots.length),
      vmDir: h.layout.vmDir(cfg.id),
    },
  };
}

export async function vmInfo(h: Host, cfg: VmConfig): Promise<VMInfo> {
  const pid = await livePid(h.layout, cfg.id);
  return {
    id: cfg.id,
    name: cfg.name,
    powerState: pid ? 'On' : 'Off',
    ips: [],
    cpu: cfg.cpu,
    memoryMiB: cfg.memoryMiB,
    disks: cfg.disks.map((d) => ({ id: d.name, path: h.layout.file(cfg.id, d.file), sizeGiB: d.sizeGiB, format: 'qcow2' })),
    networks: [],
    providerRaw: { vmDir: h.layout.vmDir(cfg.id), ...(pid ? { pid: String(pid) } : {}), ...(cfg.clonedFrom ? { clonedFrom: cfg.clonedFrom, cloneType: cfg.linked ? 'linked' : 'full' } : {}) },
    ...(cfg.uid ? { uid: cfg.uid } : {}),
  };
}

/** `diskId` is a disk name (`boot` or a data disk) or a drive id; empty means the boot disk. */
export async function diskInfo(h: Host, cfg: VmConfig, diskId: string, snapshotId: string): Promise<DiskInfo> {
  const d = cfg.disks.find((x) => x.name === (diskId || 'boot') || x.drive === diskId);
  if (!d) throw new ProviderError('NotFound', `GetDiskInfo: VM ${cfg.id} has no disk ${JSON.stringify(diskId)}`, 'GetDiskInfo');
  const path = h.layout.file(cfg.id, d.file);
  const info = await qemuImg.info(path, { operation: 'GetDiskInfo' });
  const snapshots = (info.snapshots ?? []).map((s) => s.name);
  if (snapshotId && !snapshots.includes(snapshotId)) {
    throw new ProviderError('NotFound', `GetDiskInfo: disk ${d.name} has no snapshot ${JSON.stringify(snapshotId)}`, 'GetDiskInfo');
  }
  return {
    diskId: d.name,
    format: info.format,
    virtualSizeBytes: info['virtual-size'],
    actualSizeBytes: info['actual-size'] ?? 0,
    path,
    isBootable: d.name === 'boot',
    snapshots,
    backingFile: info['full-backing-filename'] ?? info['backing-filename'] ?? '',
    metadata: { drive: d.drive, sizeGiB: String(Math.ceil(info['virtual-size'] / GiB)) },
  };
}
