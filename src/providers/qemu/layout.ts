/**
 * The state directory: one directory per VM under `<stateDir>/vms/<id>/`
 * holding `config.json` (the source of truth), the qcow2 disks, the seed
 * ISO, the QMP socket, the pidfile and the serial log. Nothing else is
 * kept, so a new provider instance on the same directory sees everything.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProviderError, type NetworkPayload } from '../provider';

export interface DiskRecord {
  /** `boot` for the image overlay, else the payload's disk name. */
  readonly name: string;
  /** File name inside the VM directory (changes when a linked clone freezes the disk). */
  file: string;
  /** QEMU drive id (`disk0`, `disk1`…), stable for the VM's life. */
  readonly drive: string;
  sizeGiB: number;
}

export interface SnapshotRecord {
  /** Also the internal qcow2 snapshot tag. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  /** Taken with `savevm` from a running VM: memory and device state included. */
  readonly vmState: boolean;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly powerState: 'On' | 'Off';
  /** Drives the snapshot exists on (disks added later lack it). */
  readonly drives: readonly string[];
}

export interface VmConfig {
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  /** The VirtualMachine's metadata.uid given at create (a clone's only from its customize_json); absent without one. */
  readonly uid?: string;
  cpu: number;
  memoryMiB: number;
  readonly createdAt: string;
  /** Resolved base image of the boot disk (empty for a flattened clone). */
  readonly baseImage: string;
  disks: DiskRecord[];
  /** `seed.iso` present (cloud-init NoCloud). */
  readonly seed: boolean;
  /** `config.ign` present: given to the guest as fw_cfg `opt/com.coreos/config` (Ignition). */
  readonly ignition?: boolean;
  readonly networks: readonly NetworkPayload[];
  readonly tags: readonly string[];
  snapshots: SnapshotRecord[];
  /** What the running process was started with; differs from cpu/memory/disks after a reconfigure. */
  launched?: { cpu: number; memoryMiB: number; drives: string[]; accel?: 'kvm' | 'tcg' };
  /** A graceful shutdown in progress: when to give up on the guest (epoch ms). */
  shutdownDeadline?: number;
  /** When the ACPI power button was last pressed for it (epoch ms). */
  shutdownPressedAt?: number;
  /** How the last graceful shutdown ended. */
  lastShutdown?: 'guest' | 'forced-after-timeout';
  readonly clonedFrom?: string;
  /** A linked clone (its disks are overlays on bases in `<state>/bases/`). */
  readonly linked?: boolean;
}

/** Max unix socket path length on Linux (sun_path is 108 bytes with the NUL). */
const SOCKET_PATH_MAX = 107;

export class Layout {
  constructor(readonly stateDir: string) {}

  get vmsDir(): string { return join(this.stateDir, 'vms'); }
  get imagesDir(): string { return join(this.stateDir, 'images'); }
  vmDir(id: string): string { return join(this.vmsDir, id); }
  file(id: string, name: string): string { return join(this.vmDir(id), name); }
  config(id: string): string { return this.file(id, 'config.json'); }
  qmp(id: string): string { return this.file(id, 'qmp.sock'); }
  pidfile(id: string): string { return this.file(id, 'qemu.pid'); }
  serialLog(id: string): string { return this.file(id, 'serial.log'); }
  seedIso(id: string): string { return this.file(id, 'seed.iso'); }

  /** A new id from the name: readable, short (socket paths are limited) and unique. */
  newId(name: string): string {
    const stem = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'vm';
    const id = `${stem}-${randomBytes(3).toString('hex')}`;
    if (this.qmp(id).length > SOCKET_PATH_MAX) {
      throw new ProviderError('InvalidSpec', `state directory ${this.stateDir} is too long for QMP socket paths (${this.qmp(id).length} > ${SOCKET_PATH_MAX} bytes)`);
    }
    return id;
  }

  /** Ids are directory names: refuse anything that could escape the state directory. */
  static validId(id: string): boolean {
    return /^[a-z0-9][a-z0-9-]{0,62}$/.test(id);
  }

  async read(id: string): Promise<VmConfig | undefined> {
    if (!Layout.validId(id)) return undefined;
    try {
      return JSON.parse(await fs.readFile(this.config(id), 'utf8')) as VmConfig;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Atomic (write + rename), so a crash never leaves a torn config; temp names are unique per write. */
  async write(cfg: VmConfig, dir = this.vmDir(cfg.id)): Promise<void> {
    const path = join(dir, 'config.json');
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n');
    await fs.rename(tmp, path);
  }

  /** Every VM id with a config (directories being created start with a dot and are skipped). */
  async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.vmsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    for (const n of names.sort()) {
      if (!Layout.validId(n)) continue;
      if (await fs.stat(this.config(n)).then(() => true, () => false)) out.push(n);
    }
    return out;
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
