/**
 * Power of one VM: the process is the power state (no process = Off), QMP
 * tells running from paused. A graceful shutdown is a deadline kept in
 * config.json, so whichever provider instance looks after it (this one,
 * or one started after a crash) finishes it the same way.
 */
import { ProviderError } from '../provider';
import type { Layout, VmConfig } from './layout';
import { launch, livePid, terminate, type LaunchOptions, type QemuBinaries } from './process';
import { withQmp } from './qmp';

/** How often a graceful shutdown presses the power button again. */
export const REPRESS_MS = 3_000;

export interface Host {
  readonly layout: Layout;
  readonly bins: QemuBinaries;
  readonly launch: LaunchOptions;
}

export interface Observed {
  readonly pid?: number;
  /** QMP `query-status` status (`running`, `paused`, …), `off`, or `unreachable`. */
  readonly status: string;
}

export async function observe(h: Host, id: string): Promise<Observed> {
  const pid = await livePid(h.layout, id);
  if (!pid) return { status: 'off' };
  try {
    const st = await withQmp(h.layout.qmp(id), (q) => q.execute<{ status: string }>('query-status', undefined, 5_000), 5_000);
    return { pid, status: st.status };
  } catch {
    // Starting up, or the monitor is busy with another client: alive is all we know.
    return { pid, status: 'unreachable' };
  }
}

/** `On` only when the guest runs; paused, shut down and absent are `Off` (Provider.describe contract). */
export function powerState(o: Observed): 'On' | 'Off' {
  return o.status === 'running' || o.status === 'unreachable' ? 'On' : 'Off';
}

/** Starts QEMU (or resumes a paused one) with the configured hardware. */
export async function powerOn(h: Host, cfg: VmConfig, loadvm?: string): Promise<void> {
  const o = await observe(h, cfg.id);
  delete cfg.shutdownDeadline;
  delete cfg.shutdownPressedAt;
  if (o.pid) {
    if (o.status !== 'running') await withQmp(h.layout.qmp(cfg.id), (q) => q.execute('cont'));
    return;
  }
  await launch(h.bins, h.layout, cfg, h.launch, loadvm);
  cfg.launched = { cpu: cfg.cpu, memoryMiB: cfg.memoryMiB, drives: cfg.disks.map((d) => d.drive), accel: h.launch.accel };
}

export async function powerOff(h: Host, cfg: VmConfig): Promise<void> {
  await terminate(h.layout, cfg.id);
  clearShutdown(cfg);
}

function clearShutdown(cfg: VmConfig): void {
  delete cfg.shutdownDeadline;
  delete cfg.shutdownPressedAt;
  delete cfg.launched;
}

export async function reset(h: Host, cfg: VmConfig): Promise<void> {
  const o = await observe(h, cfg.id);
  if (!o.pid) return powerOn(h, cfg);
  await withQmp(h.layout.qmp(cfg.id), async (q) => {
    await q.execute('system_reset');
    if (o.status !== 'running') await q.execute('cont');
  });
}

/** Presses the ACPI power button and records the deadline; false when the VM was already off. */
export async function beginGraceful(h: Host, cfg: VmConfig, timeoutSeconds: number): Promise<boolean> {
  const o = await observe(h, cfg.id);
  if (!o.pid) return false;
  await withQmp(h.layout.qmp(cfg.id), (q) => q.execute('system_powerdown'));
  cfg.shutdownPressedAt = Date.now();
  cfg.shutdownDeadline = cfg.shutdownPressedAt + Math.max(0, timeoutSeconds) * 1000;
  return true;
}

/**
 * Advances a graceful shutdown: done when QEMU is gone (the guest powered
 * off, QEMU exits without -no-shutdown); past the deadline it is ended hard.
 * Returns whether the config changed.
 */
export async function settleGraceful(h: Host, cfg: VmConfig, now = Date.now()): Promise<{ done: boolean; changed: boolean }> {
  if (cfg.shutdownDeadline === undefined) return { done: true, changed: false };
  if (!(await livePid(h.layout, cfg.id))) {
    delete cfg.shutdownDeadline;
    delete cfg.launched;
    cfg.lastShutdown = 'guest';
    return { done: true, changed: true };
  }
  if (now < cfg.shutdownDeadline) {
    // A press while the guest is still booting is lost (ACPI not enabled yet): press again every few seconds.
    if (now - (cfg.shutdownPressedAt ?? 0) < REPRESS_MS) return { done: false, changed: false };
    await withQmp(h.layout.qmp(cfg.id), (q) => q.execute('system_powerdown')).catch(() => undefined);
    cfg.shutdownPressedAt = now;
    return { done: false, changed: true };
  }
  await terminate(h.layout, cfg.id);
  clearShutdown(cfg);
  cfg.lastShutdown = 'forced-after-timeout';
  return { done: true, changed: true };
}

/** The running process was started with other hardware than configured: applies at the next power cycle. */
export function pendingRestart(cfg: VmConfig): boolean {
  const l = cfg.launched;
  if (!l) return false;
  return l.cpu !== cfg.cpu || l.memoryMiB !== cfg.memoryMiB || l.drives.join() !== cfg.disks.map((d) => d.drive).join();
}

export function requireSize(op: string, cpu: number, memoryMiB: number): void {
  if (!Number.isInteger(cpu) || cpu < 1 || cpu > 255) throw new ProviderError('InvalidSpec', `${op}: CPU must be a whole number from 1 to 255 (got ${cpu})`, op);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16) throw new ProviderError('InvalidSpec', `${op}: memory must be at least 16 MiB (got ${memoryMiB})`, op);
}
