/** What Describe, ListVMs, GetDiskInfo and GetCapabilities report. */
import { ProviderError, UID_RAW_KEY, NO_CAPABILITIES, type Capabilities, type Description, type DiskInfo, type VMInfo } from '../provider';
import type { VmConfig } from './layout';
import type { Host, Observed } from './power';
import { promises as fs } from 'node:fs';

export const NOT_FOUND: Description = { exists: false, powerState: 'Off', ips: [], consoleURL: '', providerRaw: {} };

export const FIRECRACKER_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportedDiskTypes: ['raw'],
  supportedNetworkTypes: ['tap'],
};

function raw(h: Host, cfg: VmConfig, o: Observed): Record<string, string> {
  const r: Record<string, string> = {
    hypervisor: 'firecracker', state: o.state ?? (o.pid ? 'unknown' : 'stopped'), stateDir: h.layout.vmDir(cfg.id),
    serialLog: h.layout.serialLog(cfg.id), snapshots: String(cfg.snapshots.length),
  };
  if (o.pid) r.pid = String(o.pid);
  const l = cfg.launched;
  if (o.pid && l && (l.cpu !== cfg.cpu || l.memoryMiB !== cfg.memoryMiB || cfg.drives.some((d) => !l.drives.includes(d.id)))) {
    r.pendingRestart = 'true';
    r.pendingRestartReason = 'Firecracker cannot change vCPUs, memory or add drives of a running microVM: the change applies at the next power on';
    r.runningCPU = String(l.cpu);
    r.runningMemoryMiB = String(l.memoryMiB);
  }
  if (cfg.mmds) r.mmds = cfg.nics.length ? `V2 on ${cfg.nics[0]!.id}` : 'unavailable: MMDS needs a network interface';
  if (cfg.lastShutdown) r.lastShutdown = cfg.lastShutdown;
  if (cfg.uid) r[UID_RAW_KEY] = cfg.uid;
  return r;
}

const powerState = (o: Observed) => (o.state === 'Running' ? 'On' : 'Off');

export function description(h: Host, cfg: VmConfig, o: Observed): Description {
  return {
    exists: true, powerState: powerState(o), ips: [], consoleURL: '', providerRaw: raw(h, cfg, o),
    cpu: cfg.cpu, memoryMiB: cfg.memoryMiB, ...(cfg.uid ? { uid: cfg.uid } : {}),
  };
}

export function vmInfo(h: Host, cfg: VmConfig, o: Observed): VMInfo {
  return {
    id: cfg.id, name: cfg.name, powerState: powerState(o), ips: [], cpu: cfg.cpu, memoryMiB: cfg.memoryMiB,
    disks: cfg.drives.map((d) => ({ id: d.id, path: h.layout.file(cfg.id, d.file), sizeGiB: d.sizeGiB, format: 'raw' })),
    networks: cfg.nics.map((n) => ({ name: n.network, mac: n.mac, ipAddress: '' })),
    providerRaw: raw(h, cfg, o), ...(cfg.uid ? { uid: cfg.uid } : {}),
  };
}

export async function diskInfo(h: Host, cfg: VmConfig, diskId: string, snapshotId: string): Promise<DiskInfo> {
  const d = cfg.drives.find((x) => x.id === diskId || x.name === diskId);
  if (!d) throw new ProviderError('NotFound', `GetDiskInfo: disk ${JSON.stringify(diskId)} of ${cfg.id} not found`, 'GetDiskInfo');
  if (snapshotId && !cfg.snapshots.some((s) => s.id === snapshotId)) throw new ProviderError('NotFound', `GetDiskInfo: snapshot ${JSON.stringify(snapshotId)} not found`, 'GetDiskInfo');
  const path = h.layout.file(cfg.id, d.file);
  const st = await fs.stat(path);
  return {
    diskId: d.id, format: 'raw', virtualSizeBytes: st.size, actualSizeBytes: st.blocks * 512, path,
    isBootable: d.id === 'rootfs', snapshots: cfg.snapshots.filter((s) => s.drives.includes(d.id)).map((s) => s.id), backingFile: '', metadata: { name: d.name },
  };
}
