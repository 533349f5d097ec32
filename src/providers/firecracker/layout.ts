/**
 * The state directory: `<stateDir>/vms/<id>/` per microVM with
 * `config.json` (the source of truth), the API socket, the pidfile, the
 * Firecracker log, the serial log, the VM's own copy of the root
 * filesystem, its data disks and `snapshots/<sid>/`. Templates live in
 * `<stateDir>/images/<name>/{vmlinux,rootfs.ext4}`. A new provider on the
 * same directory sees everything.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProviderError } from '../provider';

export interface DriveRecord {
  /** Firecracker drive id: `rootfs` or `disk<n>`. */
  readonly id: string;
  /** `boot` for the root filesystem, else the payload's disk name. */
  readonly name: string;
  readonly file: string;
  sizeGiB: number;
}

export interface NicRecord {
  readonly id: string;
  readonly network: string;
  readonly tap: string;
  readonly mac: string;
  /** The tenant's own cap (VMNetworkAttachment qos ingressLimit), bit/s; the operator's limit still bounds it. */
  rxBitsPerSecond?: number;
  /** The tenant's own cap (qos egressLimit), bit/s. */
  txBitsPerSecond?: number;
}

export interface SnapshotRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly type: 'Full' | 'Diff';
  readonly cpu: number;
  readonly memoryMiB: number;
  /** Drive ids whose files were copied into the snapshot directory. */
  readonly drives: readonly string[];
  /** When the process it was taken from started (a Diff needs a Full of the same process). */
  readonly launchedAt?: string;
}

export interface VmConfig {
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly uid?: string;
  cpu: number;
  memoryMiB: number;
  readonly createdAt: string;
  /** The kernel the VM boots: `vmlinux`, the VM's own copy in its directory (older VMs: an absolute path). */
  readonly kernel: string;
  readonly bootArgs: string;
  drives: DriveRecord[];
  nics: NicRecord[];
  /** MMDS content (cloud-init/ignition user-data and meta-data), when given. */
  readonly mmds?: { readonly userData: string; readonly metaData: string };
  readonly tags: readonly string[];
  snapshots: SnapshotRecord[];
  /** What the running process was configured with (differs from cpu/memory after a reconfigure). */
  launched?: { cpu: number; memoryMiB: number; drives: string[] };
  /** When the running process was started (ISO time). */
  launchedAt?: string;
  /** A graceful shutdown in progress: when to kill the process (epoch ms). */
  shutdownDeadline?: number;
  lastShutdown?: 'guest' | 'forced-after-timeout';
  readonly clonedFrom?: string;
}

/** sun_path is 108 bytes with the NUL. */
const SOCKET_PATH_MAX = 107;

export class Layout {
  constructor(readonly stateDir: string) {}

  get vmsDir(): string { return join(this.stateDir, 'vms'); }
  get imagesDir(): string { return join(this.stateDir, 'images'); }
  vmDir(id: string): string { return join(this.vmsDir, id); }
  file(id: string, name: string): string { return join(this.vmDir(id), name); }
  /** The kernel a VM boots: its own copy, so the VM directory holds every file its process opens. */
  kernel(cfg: { id: string; kernel: string }): string { return isAbsolute(cfg.kernel) ? cfg.kernel : this.file(cfg.id, cfg.kernel); }
  config(id: string): string { return this.file(id, 'config.json'); }
  socket(id: string): string { return this.file(id, 'api.sock'); }
  pidfile(id: string): string { return this.file(id, 'firecracker.pid'); }
  log(id: string): string { return this.file(id, 'firecracker.log'); }
  serialLog(id: string): string { return this.file(id, 'serial.log'); }
  snapshotDir(id: string, sid: string): string { return join(this.vmDir(id), 'snapshots', sid); }

  /** A new id from the name plus randomness; refuses a state directory whose socket paths would be too long. */
  newId(name: string): string {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'vm';
    const id = `${slug}-${randomBytes(4).toString('hex')}`;
    if (this.socket(id).length > SOCKET_PATH_MAX) {
      throw new ProviderError('Internal', `state directory ${this.stateDir} is too long for Firecracker API socket paths (max ${SOCKET_PATH_MAX} bytes)`);
    }
    return id;
  }

  async read(id: string): Promise<VmConfig | undefined> {
    if (!/^[a-z0-9-]+$/.test(id)) return undefined;
    try {
      return JSON.parse(await fs.readFile(this.file(id, 'config.json'), 'utf8')) as VmConfig;
    } catch {
      return undefined;
    }
  }

  /** Atomic write (temp file + rename). */
  async write(cfg: VmConfig): Promise<void> {
    const tmp = this.file(cfg.id, `config.json.${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
    await fs.writeFile(tmp, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
    await fs.rename(tmp, this.file(cfg.id, 'config.json'));
  }

  async ids(): Promise<string[]> {
    return (await fs.readdir(this.vmsDir).catch(() => [] as string[])).filter((n) => /^[a-z0-9-]+$/.test(n)).sort();
  }

  async all(): Promise<VmConfig[]> {
    const out: VmConfig[] = [];
    for (const id of await this.ids()) {
      const c = await this.read(id);
      if (c) out.push(c);
    }
    return out;
  }
}
