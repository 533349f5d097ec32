/**
 * The pre-boot configuration of a microVM, as Firecracker API calls built
 * from the VM's config.json: machine config (the VMClass size), boot
 * source, drives, network interfaces with rate limiters, MMDS, serial
 * output and the balloon device.
 */
import { ProviderError } from '../provider';
import { fcApi, type ApiCall } from './api';
import type { Layout, NicRecord, VmConfig } from './layout';

/** Firecracker's limits: 1–32 vCPUs; with SMT the count must be 1 or even. */
export const MAX_VCPUS = 32;

export function checkSize(op: string, cpu: number, memoryMiB: number, smt: boolean): void {
  if (!Number.isInteger(cpu) || cpu < 1 || cpu > MAX_VCPUS) {
    throw new ProviderError('InvalidSpec', `${op}: Firecracker supports 1 to ${MAX_VCPUS} vCPUs (class asks for ${cpu})`, op);
  }
  if (smt && cpu > 1 && cpu % 2 !== 0) {
    throw new ProviderError('InvalidSpec', `${op}: with SMT (the operator's firecracker.smt) the vCPU count must be 1 or even (class asks for ${cpu})`, op);
  }
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1) {
    throw new ProviderError('InvalidSpec', `${op}: memory must be a positive number of MiB (class asks for ${memoryMiB})`, op);
  }
}

/** A token-bucket rate limiter for a NIC direction, from bits per second (Firecracker counts bytes per refill period). */
export interface Bandwidth { readonly bitsPerSecond: number }

export function rateLimiter(b: Bandwidth | undefined): unknown {
  if (!b || b.bitsPerSecond <= 0) return undefined;
  const bytes = Math.max(1, Math.floor(b.bitsPerSecond / 8));
  return { bandwidth: { size: bytes, refill_time: 1000 } };
}

export interface MachineOptions {
  readonly smt: boolean;
  /** The operator's per-NIC limits of a network (`firecracker.networks[].rxBitsPerSecond/txBitsPerSecond`). */
  readonly limits?: (network: string) => { rx?: Bandwidth; tx?: Bandwidth };
}

/** The lower of two optional limits (the tenant may only lower the operator's). */
function lower(a: number | undefined, b: number | undefined): Bandwidth | undefined {
  const v = [a, b].filter((x): x is number => x !== undefined && x > 0);
  return v.length ? { bitsPerSecond: Math.min(...v) } : undefined;
}

/** A NIC's effective limits: the operator's for its network, lowered by the tenant's qos. */
export function nicLimits(nic: NicRecord, mo: MachineOptions): { rx?: Bandwidth; tx?: Bandwidth } {
  const op = mo.limits?.(nic.network) ?? {};
  const rx = lower(op.rx?.bitsPerSecond, nic.rxBitsPerSecond);
  const tx = lower(op.tx?.bitsPerSecond, nic.txBitsPerSecond);
  return { ...(rx ? { rx } : {}), ...(tx ? { tx } : {}) };
}

/** A running NIC's rate limiters changed in place (`PATCH /network-interfaces`); an unset direction is a zero, unlimited, bucket. */
export function nicPatch(nic: NicRecord, mo: MachineOptions): ApiCall {
  const l = nicLimits(nic, mo);
  const off = { bandwidth: { size: 0, refill_time: 0 } };
  return {
    method: 'PATCH', path: `/network-interfaces/${nic.id}`,
    body: { iface_id: nic.id, rx_rate_limiter: rateLimiter(l.rx) ?? off, tx_rate_limiter: rateLimiter(l.tx) ?? off },
  };
}

/** Every call that configures a fresh Firecracker process for `cfg`, in order, InstanceStart excluded. */
export function configureCalls(layout: Layout, cfg: VmConfig, mo: MachineOptions): ApiCall[] {
  const calls: ApiCall[] = [
    { method: 'PUT', path: '/machine-config', body: { vcpu_count: cfg.cpu, mem_size_mib: cfg.memoryMiB, smt: mo.smt, track_dirty_pages: true } },
    { method: 'PUT', path: '/boot-source', body: { kernel_image_path: layout.kernel(cfg), boot_args: cfg.bootArgs } },
    { method: 'PUT', path: '/serial', body: { serial_out_path: layout.serialLog(cfg.id) } },
  ];
  for (const d of cfg.drives) {
    calls.push({
      method: 'PUT', path: `/drives/${d.id}`,
      body: { drive_id: d.id, path_on_host: layout.file(cfg.id, d.file), is_root_device: d.id === 'rootfs', is_read_only: false },
    });
  }
  for (const n of cfg.nics) {
    const l = nicLimits(n, mo);
    const rx = rateLimiter(l.rx);
    const tx = rateLimiter(l.tx);
    calls.push({
      method: 'PUT', path: `/network-interfaces/${n.id}`,
      body: { iface_id: n.id, host_dev_name: n.tap, guest_mac: n.mac, ...(rx ? { rx_rate_limiter: rx } : {}), ...(tx ? { tx_rate_limiter: tx } : {}) },
    });
  }
  if (cfg.mmds && cfg.nics.length > 0) {
    // MMDS answers the guest on 169.254.169.254 through the first NIC (V2: session tokens).
    calls.push({ method: 'PUT', path: '/mmds/config', body: { version: 'V2', network_interfaces: [cfg.nics[0]!.id] } });
    calls.push({ method: 'PUT', path: '/mmds', body: { latest: { 'user-data': cfg.mmds.userData, 'meta-data': cfg.mmds.metaData } } });
  }
  calls.push({ method: 'PUT', path: '/balloon', body: { amount_mib: 0, deflate_on_oom: true, stats_polling_interval_s: 0 } });
  return calls;
}

/** Runs `calls` in order; the first refusal rejects with Firecracker's text. */
export async function apply(sock: string, calls: readonly ApiCall[]): Promise<void> {
  for (const c of calls) await fcApi(sock, c);
}

/** Firecracker's own view: `GET /` (state Not started / Running / Paused). */
export async function instanceState(sock: string): Promise<string | undefined> {
  return fcApi<{ state?: string }>(sock, { method: 'GET', path: '/', timeoutMs: 3_000 }).then((r) => r?.state, () => undefined);
}
