/** Finding and reading PVE VMs. A provider VM id is `<node>/<vmid>`. */
import type { Description, VMInfo } from '../provider';
import type { PveClient } from './client';
import { isCreating, uidOf } from './config';
import { isMissing } from './errors';

export interface VmRef { readonly node: string; readonly vmid: number }

export function parseId(id: string): VmRef | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9.-]*)\/(\d{3,9})$/.exec(id);
  return m ? { node: m[1]!, vmid: Number(m[2]) } : undefined;
}

export const formatId = (r: VmRef): string => `${r.node}/${r.vmid}`;
export const vmPath = (r: VmRef): string => `/nodes/${r.node}/qemu/${r.vmid}`;

export interface Resource { vmid: number; node: string; name?: string; status?: string; template?: number; type: string }

/** Every QEMU guest in the cluster (templates included). */
export async function resources(c: PveClient, op: string): Promise<Resource[]> {
  const all = await c.get<Resource[]>('/cluster/resources', { type: 'vm' }, op);
  return (all ?? []).filter((r) => r.type === 'qemu');
}

export type Config = Record<string, string | number | undefined>;

/** A disk value's size in GiB (`local-lvm:vm-100-disk-0,size=8G`). */
export function diskSizeGiB(value: string | number | undefined): number {
  const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)/.exec(String(value ?? ''));
  if (!m) return 0;
  const n = Number(m[1]);
  return ({ K: n / 1024 ** 2, M: n / 1024, G: n, T: n * 1024, '': n / 1024 ** 3 } as Record<string, number>)[m[2]!]!;
}

export const DISK_KEY = /^(scsi|virtio|sata|ide)\d+$/;

export function disksOf(cfg: Config): { key: string; value: string }[] {
  return Object.entries(cfg)
    .filter(([k, v]) => DISK_KEY.test(k) && typeof v === 'string' && !v.includes('media=cdrom') && !v.includes('cloudinit'))
    .map(([key, value]) => ({ key, value: String(value) }));
}

/** IPs from the guest agent (none when it is off or does not answer). */
export async function agentIps(c: PveClient, r: VmRef): Promise<string[]> {
  try {
    const d = await c.get<{ result?: { 'ip-addresses'?: { 'ip-address': string }[] }[] }>(`${vmPath(r)}/agent/network-get-interfaces`, {}, 'Describe');
    return (d.result ?? []).flatMap((i) => i['ip-addresses'] ?? []).map((a) => a['ip-address'])
      .filter((ip) => ip && !ip.startsWith('127.') && ip !== '::1' && !ip.toLowerCase().startsWith('fe80'));
  } catch {
    return [];
  }
}

export async function describeVm(c: PveClient, r: VmRef, consoleBase: string): Promise<Description> {
  let status: { status: string; qmpstatus?: string; lock?: string };
  let cfg: Config;
  try {
    status = await c.get(`${vmPath(r)}/status/current`, {}, 'Describe');
    cfg = await c.get<Config>(`${vmPath(r)}/config`, {}, 'Describe');
  } catch (e) {
    if (isMissing(e)) return { exists: false, powerState: 'Off', ips: [], consoleURL: '', providerRaw: {} };
    throw e;
  }
  const pending = await c.get<{ key: string; pending?: unknown; delete?: number }[]>(`${vmPath(r)}/pending`, {}, 'Describe').catch(() => []);
  const waiting = pending.filter((p) => p.pending !== undefined || p.delete).map((p) => p.key).sort();
  const on = status.status === 'running';
  const agentOn = String(cfg.agent ?? '0').startsWith('1') || /enabled=1/.test(String(cfg.agent ?? ''));
  const uid = uidOf(String(cfg.description ?? ''));
  return {
    exists: true,
    powerState: on ? 'On' : 'Off',
    ips: on && agentOn ? await agentIps(c, r) : [],
    consoleURL: `${consoleBase}/?console=kvm&novnc=1&vmid=${r.vmid}&node=${encodeURIComponent(r.node)}`,
    providerRaw: {
      node: r.node, vmid: r.vmid, status: status.status,
      ...(status.lock ? { lock: status.lock } : {}),
      ...(waiting.length ? { pendingChanges: waiting.join(','), pendingReason: 'changes on a running VM apply at its next restart' } : {}),
    },
    cpu: Number(cfg.cores ?? 1) * Number(cfg.sockets ?? 1),
    memoryMiB: Number(cfg.memory ?? 512),
    ...(uid ? { uid } : {}),
  };
}

export async function vmInfo(c: PveClient, res: Resource): Promise<VMInfo | undefined> {
  const r = { node: res.node, vmid: res.vmid };
  let cfg: Config;
  try {
    cfg = await c.get<Config>(`${vmPath(r)}/config`, {}, 'ListVMs');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  // A clone still being configured is no VM yet: Create resumes it (see CREATING_LINE).
  if (isCreating(String(cfg.description ?? ''))) return undefined;
  const uid = uidOf(String(cfg.description ?? ''));
  const nets = Object.entries(cfg).filter(([k]) => /^net\d+$/.test(k));
  return {
    id: formatId(r),
    name: String(cfg.name ?? res.name ?? ''),
    powerState: res.status === 'running' ? 'On' : 'Off',
    ips: [],
    cpu: Number(cfg.cores ?? 1) * Number(cfg.sockets ?? 1),
    memoryMiB: Number(cfg.memory ?? 512),
    disks: disksOf(cfg).map((d) => ({ id: d.key, path: d.value.split(',')[0]!, sizeGiB: diskSizeGiB(d.value), format: /format=(\w+)/.exec(d.value)?.[1] ?? 'raw' })),
    networks: nets.map(([k, v]) => ({ name: k, mac: /=([0-9A-F:]{17})/i.exec(String(v))?.[1] ?? '', ipAddress: '' })),
    providerRaw: { node: r.node, vmid: String(r.vmid) },
    ...(uid ? { uid } : {}),
  };
}
