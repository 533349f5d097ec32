/**
 * QEMU processes. VMs run daemonized (`-daemonize`: own session, parent
 * init), so they outlive the provider; the pidfile plus /proc is how any
 * provider instance finds them again.
 */
import { promises as fs } from 'node:fs';
import { ProviderError } from '../provider';
import { detectAccel, ownedPid, run, type Accel, type AccelProbePaths } from '../hostutil';
import type { Layout, VmConfig } from './layout';
import { withQmp } from './qmp';

export interface QemuBinaries {
  readonly qemu: string;
}

export type NicMode = 'none' | 'user';

/** QEMU's option syntax escapes a comma by doubling it. */
const opt = (s: string) => s.replace(/,/g, ',,');

export interface LaunchOptions {
  readonly nic: NicMode;
  /** seccomp filter (`-sandbox`); spawning stays allowed because `-daemonize` forks after it applies. */
  readonly sandbox: boolean;
  /** `kvm` (with `-cpu host`) or `tcg`; see {@link resolveAccel}. */
  readonly accel: Accel;
  /** Set when the operator requires KVM and this host cannot use it: why. No VM is started then. */
  readonly accelRefused?: string;
}

/** The operator's accelerator setting (instance `qemu.accel`). */
export type AccelSetting = 'auto' | 'kvm' | 'tcg';

export interface ResolvedAccel {
  readonly setting: AccelSetting;
  readonly accel: Accel;
  /** For operators (Validate): why this accelerator. */
  readonly reason: string;
  /** `kvm` configured where the probe finds KVM unusable: the refusal, with the probe's reason. */
  readonly refused?: string;
}

/** The accelerator VMs of this provider get: `tcg` as configured, `auto` as detected, `kvm` only where the host can (else refused). */
export function resolveAccel(setting: AccelSetting, probe?: AccelProbePaths): ResolvedAccel {
  if (setting === 'tcg') return { setting, accel: 'tcg', reason: 'configured (accel: tcg)' };
  const d = detectAccel(probe);
  if (setting === 'auto') return { setting, accel: d.accel, reason: `detected (accel: auto): ${d.reason}` };
  if (d.accel === 'kvm') return { setting, accel: 'kvm', reason: `configured (accel: kvm): ${d.reason}` };
  return { setting, accel: 'kvm', reason: `configured (accel: kvm), unusable: ${d.reason}`, refused: `accel: kvm is configured but this host cannot use KVM: ${d.reason}` };
}

export function qemuArgs(layout: Layout, cfg: VmConfig, lo: LaunchOptions, loadvm?: string): string[] {
  const f = (n: string) => opt(layout.file(cfg.id, n));
  const args = [
    '-name', `guest=${opt(cfg.name)},process=qemu-${cfg.id}`,
    '-machine', `pc,accel=${lo.accel}`,
    ...(lo.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-smp', String(cfg.cpu), '-m', String(cfg.memoryMiB),
    '-qmp', `unix:${f('qmp.sock')},server=on,wait=off`,
    '-pidfile', layout.pidfile(cfg.id),
    '-chardev', `file,id=serial0,path=${f('serial.log')},append=on`, '-serial', 'chardev:serial0',
    '-daemonize',
  ];
  // No NIC by default: the guest can send nothing anywhere. User mode with restrict=on has no way out either.
  if (lo.sandbox) args.push('-sandbox', 'on,obsolete=deny,resourcecontrol=deny');
  args.push('-nic', lo.nic === 'user' ? 'user,model=virtio-net-pci,restrict=on' : 'none');
  cfg.disks.forEach((d, i) => {
    args.push('-drive', `file=${f(d.file)},format=qcow2,if=none,id=${d.drive},cache=writeback`);
    args.push('-device', `virtio-blk-pci,drive=${d.drive},id=${d.drive}-dev${i === 0 ? ',bootindex=1' : ''}`);
  });
  if (cfg.seed) {
    args.push('-drive', `file=${f('seed.iso')},format=raw,if=none,id=seed,media=cdrom,readonly=on`, '-device', 'ide-cd,drive=seed');
  }
  if (cfg.ignition) args.push('-fw_cfg', `name=opt/com.coreos/config,file=${f('config.ign')}`);
  if (loadvm) args.push('-loadvm', loadvm);
  return args;
}

/** The pid of the VM's QEMU when it is alive (not a zombie, and really this VM's process: its command line names the pidfile). */
export function livePid(layout: Layout, id: string): Promise<number | undefined> {
  const pidfile = layout.pidfile(id);
  return ownedPid(pidfile, (argv) => argv.join('\0').includes(pidfile));
}

/** Starts the VM's QEMU and returns its pid; `-daemonize` returns once the VM is set up (or failed). */
export async function launch(bins: QemuBinaries, layout: Layout, cfg: VmConfig, lo: LaunchOptions, loadvm?: string): Promise<number> {
  // Never a KVM guest on a host whose KVM would hang it: refuse, saying why.
  if (lo.accelRefused) throw new ProviderError('Internal', `${cfg.id}: ${lo.accelRefused}`, 'Power');
  await fs.rm(layout.pidfile(cfg.id), { force: true });
  await run(bins.qemu, qemuArgs(layout, cfg, lo, loadvm), { timeoutMs: 60_000, operation: 'Power' });
  const pid = await livePid(layout, cfg.id);
  if (!pid) throw new ProviderError('Internal', `QEMU for ${cfg.id} exited right after starting (see ${layout.serialLog(cfg.id)})`, 'Power');
  return pid;
}

export async function waitDead(layout: Layout, id: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (await livePid(layout, id)) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Hard power-off: QMP `quit`, then SIGKILL if QEMU does not go. */
export async function terminate(layout: Layout, id: string, graceMs = 5_000): Promise<void> {
  const pid = await livePid(layout, id);
  if (!pid) return;
  await withQmp(layout.qmp(id), (q) => q.execute('quit').catch(() => undefined), 2_000).catch(() => undefined);
  if (await waitDead(layout, id, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  if (!(await waitDead(layout, id, 5_000))) throw new ProviderError('Retryable', `QEMU ${pid} of ${id} did not exit after SIGKILL`, 'Power');
}
