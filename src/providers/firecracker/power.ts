/**
 * Power: On = a new Firecracker process configured from config.json, then
 * InstanceStart (or a snapshot load); Off = the process ends; a graceful
 * shutdown sends Ctrl+Alt+Del and kills the process at the deadline.
 */
import { ProviderError } from '../provider';
import { fcApi, toProviderError } from './api';
import type { Layout, VmConfig } from './layout';
import { apply, configureCalls, instanceState, type MachineOptions } from './machine';
import { livePid, spawnVmm, terminate, type HostSettings } from './process';

export interface Host {
  readonly layout: Layout;
  readonly settings: HostSettings;
  readonly machine: MachineOptions;
}

export interface Observed {
  readonly pid?: number;
  /** Firecracker's instance state (`Running`, `Paused`, `Not started`) when the process answers. */
  readonly state?: string;
}

export async function observe(h: Host, id: string): Promise<Observed> {
  const pid = await livePid(h.layout, id);
  if (!pid) return {};
  const state = await instanceState(h.layout.socket(id));
  return { pid, ...(state ? { state } : {}) };
}

/** Starts a process and runs `boot` on its socket; any failure ends the process again (no half-started VM stays). */
async function startWith(h: Host, cfg: VmConfig, op: string, boot: (sock: string) => Promise<void>): Promise<void> {
  const { layout } = h;
  await spawnVmm(h.settings, layout, cfg.id).catch((e: unknown) => { throw toProviderError(op, e); });
  try {
    await boot(layout.socket(cfg.id));
  } catch (e) {
    await terminate(layout, cfg.id).catch(() => undefined);
    throw toProviderError(op, e, ` (log: ${layout.log(cfg.id)})`);
  }
  cfg.launched = { cpu: cfg.cpu, memoryMiB: cfg.memoryMiB, drives: cfg.drives.map((d) => d.id) };
  cfg.launchedAt = new Date().toISOString();
  delete cfg.shutdownDeadline;
}

export async function powerOn(h: Host, cfg: VmConfig, op = 'Power'): Promise<void> {
  if (await livePid(h.layout, cfg.id)) return;
  await startWith(h, cfg, op, async (sock) => {
    await apply(sock, configureCalls(h.layout, cfg, h.machine));
    await fcApi(sock, { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' }, timeoutMs: 60_000 });
  });
}

/** A new process restored from a snapshot (disk files already put back by the caller). */
export async function loadSnapshot(h: Host, cfg: VmConfig, dir: string, op: string): Promise<void> {
  await startWith(h, cfg, op, (sock) => fcApi<void>(sock, {
    method: 'PUT', path: '/snapshot/load', timeoutMs: 120_000,
    body: { snapshot_path: `${dir}/vmstate`, mem_backend: { backend_type: 'File', backend_path: `${dir}/memory` }, resume_vm: true },
  }));
}

export async function powerOff(h: Host, cfg: VmConfig): Promise<void> {
  await terminate(h.layout, cfg.id);
  delete cfg.shutdownDeadline;
}

/** Sends Ctrl+Alt+Del; returns false when the VM is already off. */
export async function beginGraceful(h: Host, cfg: VmConfig, timeoutSeconds: number): Promise<boolean> {
  const o = await observe(h, cfg.id);
  if (!o.pid) return false;
  if (o.state === 'Running') {
    await fcApi(h.layout.socket(cfg.id), { method: 'PUT', path: '/actions', body: { action_type: 'SendCtrlAltDel' } })
      .catch((e: unknown) => { throw toProviderError('Power', e); });
  }
  cfg.shutdownDeadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;
  return true;
}

/** Finishes a graceful shutdown: done when the guest stopped the VM, or kills it at the deadline. */
export async function settleGraceful(h: Host, cfg: VmConfig): Promise<{ done: boolean }> {
  if (cfg.shutdownDeadline === undefined) return { done: true };
  if (!(await livePid(h.layout, cfg.id))) {
    cfg.lastShutdown = 'guest';
    delete cfg.shutdownDeadline;
    await terminate(h.layout, cfg.id);
    return { done: true };
  }
  if (Date.now() < cfg.shutdownDeadline) return { done: false };
  await terminate(h.layout, cfg.id);
  cfg.lastShutdown = 'forced-after-timeout';
  delete cfg.shutdownDeadline;
  return { done: true };
}

/** Firecracker has no reset: Reboot is a new process from the saved config. */
export async function reboot(h: Host, cfg: VmConfig): Promise<void> {
  await terminate(h.layout, cfg.id);
  await powerOn(h, cfg);
}

export function requireRunning(op: string, o: Observed, id: string): void {
  if (!o.pid || (o.state !== 'Running' && o.state !== 'Paused')) {
    throw new ProviderError('InvalidSpec', `${op}: microVM ${id} is not running (Firecracker snapshots need a running microVM: power it on first)`, op);
  }
}
