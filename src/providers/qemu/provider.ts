/**
 * QEMU without libvirt: each VM is a daemonized qemu-system-x86_64 (KVM
 * where the host can use it, else TCG: see resolveAccel) described by `<stateDir>/vms/<id>/config.json`, driven over QMP. The
 * state directory is the only state, so a restarted provider (or a second
 * instance) finds its running VMs again. See docs/providers/qemu.md.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import {
  ProviderError, type CallOptions, type Capabilities, type CloneRequest, type CreateRequest, type CreateResponse,
  type Description, type DiskInfo, type ExportDiskResponse, type ImagePrepareResponse, type ImportDiskResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { DEFAULT_HOST_POLICY, qemuImg, run, type AccelProbePaths, type HostPolicy } from '../hostutil';
import { cloneUid, plainTags, requestUid } from '../uid';
import { buildFullClone, buildLinkedClone, buildVm, cloneSize, whilePaused } from './build';
import { collectBases, freezeDisks } from './linked';
import { scanStateDir } from './recover';
import { checkDisks, createDataDisk, GiB, nextDriveIndex, resolveImage } from './disks';
import { Layout, type VmConfig } from './layout';
import { locksFor, type Locks } from './locks';
import { livePid, resolveAccel, terminate, type AccelSetting, type NicMode, type ResolvedAccel } from './process';
import { beginGraceful, observe, powerOff, powerOn, REPRESS_MS, requireSize, reset, settleGraceful, type Host } from './power';
import { withQmp } from './qmp';
import { createSnapshot, deleteSnapshot, revertSnapshot } from './snapshots';
import { description, diskInfo, NOT_FOUND, QEMU_CAPABILITIES, vmInfo } from './views';

export const INSTALL_HINT = 'QEMU is not installed: run bash scripts/hypervisors.sh as root (or apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils xorriso)';

export interface QemuProviderOptions {
  /** Holds `vms/` (one directory per VM) and `images/` (templates by name). */
  readonly stateDir: string;
  /** Default `qemu-system-x86_64` from PATH. */
  readonly qemuBinary?: string;
  /** `none` (default): no NIC at all. `user`: user-mode networking with restrict=on (no traffic leaves QEMU). */
  readonly nic?: NicMode;
  /** QEMU's seccomp sandbox (`-sandbox on,obsolete=deny,resourcecontrol=deny`); default true. */
  readonly sandbox?: boolean;
  /** The operator's limits on image paths, URLs and downloads (default DEFAULT_HOST_POLICY: deny). */
  readonly hostPolicy?: HostPolicy;
  /** `auto` (default): KVM where detectAccel finds it usable, else TCG. `kvm`: required (VMs refused where unusable). `tcg`: never KVM. */
  readonly accel?: AccelSetting;
  /** Where the accelerator probe looks (tests); default the real /proc/cpuinfo, /dev/kvm, /sys/module. */
  readonly accelProbe?: AccelProbePaths;
}

const GRACEFUL = 'graceful:';

export class QemuProvider implements Provider {
  readonly layout: Layout;
  private readonly host: Host;
  private readonly locks: Locks;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Resolves when the state directory has been scanned (see {@link recovered}). */
  readonly ready: Promise<void>;
  /** What the start-up scan found: VM id → `running (<qmp status>)` or `stopped`. */
  readonly recovered = new Map<string, string>();
  /** The accelerator this instance's VMs get, decided once at construction (Validate reports it). */
  readonly accel: ResolvedAccel;

  constructor(readonly options: QemuProviderOptions) {
    this.layout = new Layout(resolve(options.stateDir));
    this.locks = locksFor(this.layout.stateDir);
    this.accel = resolveAccel(options.accel ?? 'auto', options.accelProbe);
    this.host = {
      layout: this.layout, bins: { qemu: options.qemuBinary ?? 'qemu-system-x86_64' },
      launch: {
        nic: options.nic ?? 'none', sandbox: options.sandbox ?? true, accel: this.accel.accel,
        ...(this.accel.refused ? { accelRefused: this.accel.refused } : {}),
      },
    };
    this.ready = this.recover();
    this.ready.catch(() => undefined);
  }

  private async recover(): Promise<void> {
    const found = await scanStateDir(this.host, this.locks, (id, deadline) => this.schedule(id, deadline));
    for (const [id, state] of found) this.recovered.set(id, state);
  }

  /** Every operation: wait for the scan, honour cancellation, map stray errors to a category. */
  private async op<T>(name: string, o: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    if (o?.signal?.aborted) throw new ProviderError('Retryable', `${name}: cancelled`, name);
    try {
      await this.ready;
      return await fn();
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const category = code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EAGAIN' ? 'Retryable' : 'Internal';
      throw new ProviderError(category, `${name}: ${(e as Error).message}`, name);
    }
  }

  /** Runs `fn` on the VM's config under the VM's lock; writes the config back when `fn` returns normally. */
  private withVm<T>(name: string, id: string, o: CallOptions | undefined, fn: (cfg: VmConfig) => Promise<T>): Promise<T> {
    return this.op(name, o, () => this.locks.run(id, async () => {
      const cfg = await this.layout.read(id);
      if (!cfg) throw new ProviderError('NotFound', `${name}: VM ${JSON.stringify(id)} not found`, name);
      const before = JSON.stringify(cfg);
      try {
        return await fn(cfg);
      } finally {
        // Record what happened even when a step failed half-way (e.g. a snapshot taken, the restart failed).
        const changed = JSON.stringify(cfg) !== before;
        if (changed && (await fs.stat(this.layout.vmDir(id)).then(() => true, () => false))) await this.layout.write(cfg);
      }
    }));
  }

  validate(o?: CallOptions) {
    return this.op('Validate', o, async () => {
      // The operator asked for KVM and this host cannot give it: nothing would start.
      if (this.accel.refused) return { ok: false, message: this.accel.refused };
      for (const bin of [this.host.bins.qemu, 'qemu-img']) {
        try {
          await run(bin, ['--version'], { timeoutMs: 10_000 });
        } catch {
          return { ok: false, message: `${bin} does not run. ${INSTALL_HINT}` };
        }
      }
      try {
        await fs.access(this.layout.vmsDir, fs.constants.W_OK);
      } catch {
        return { ok: false, message: `state directory ${this.layout.stateDir} is not writable` };
      }
      return { ok: true, message: `QEMU (${this.accel.accel.toUpperCase()}: ${this.accel.reason}) with state in ${this.layout.stateDir}` };
    });
  }

  create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    return this.op('Create', o, async () => {
      if (!req.name) throw new ProviderError('InvalidSpec', 'Create: name is required', 'Create');
      // The accelerator is the operator's (instance qemu.accel); a VMClass key that looks like a choice is refused, not ignored.
      for (const key of Object.keys(req.class.ExtraConfig ?? {})) {
        if (/^(qemu\.)?accel(erator)?$/i.test(key)) {
          throw new ProviderError('InvalidSpec', `Create: extraConfig ${key}: the accelerator is the operator's choice (in-process instance qemu.accel), not a VMClass's`, 'Create');
        }
      }
      // Before any disk is made: a VM that could never start is not created.
      if (this.accel.refused) throw new ProviderError('Internal', `Create: ${this.accel.refused}`, 'Create');
      requireSize('Create', req.class.CPU, req.class.MemoryMiB);
      checkDisks('Create', req.disks);
      // NICs are the operator's (instance qemu.nic: none, or user mode with QEMU's own DHCP): a static address could never apply.
      const fixed = req.networks.find((n) => n.StaticIP);
      if (fixed) {
        throw new ProviderError('InvalidSpec', `Create: NIC ${fixed.Name}: static address ${fixed.StaticIP} cannot be applied: QEMU NICs are the operator's (qemu.nic ${JSON.stringify(this.options.nic ?? 'none')}) and take no address from the spec; use a VMNetworkAttachment with ipAllocation DHCP or None`, 'Create');
      }
      // What config.json keeps: the uid (checked), and the tags without the reserved uid prefix.
      const stored: CreateRequest = { ...req, uid: requestUid(req), tags: plainTags(req.tags) };
      // The image first, under its own lock (a download may take minutes); then one lock for names: two concurrent creates of one name make one VM.
      const base = await resolveImage(this.layout, req.image, this.options.hostPolicy ?? DEFAULT_HOST_POLICY, this.locks, o?.signal).catch((e: Error) => e);
      const { cfg, fresh } = await this.locks.run('#names', async () => {
        const existing = (await this.layout.all()).find((v) => v.name === req.name);
        // Not idempotent by name, like other hypervisors: the caller finds its own VM by uid (ListVMs).
        if (existing) throw new ProviderError('InvalidSpec', `Create: a VM named ${JSON.stringify(req.name)} already exists (id ${existing.id})`, 'Create');
        if (base instanceof Error) throw base;
        return { cfg: await buildVm(this.layout, this.layout.newId(req.name), stored, base), fresh: true };
      });
      if (fresh) await this.withVm('Create', cfg.id, o, (c) => powerOn(this.host, c));
      return { id: cfg.id };
    });
  }

  delete(id: string, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('Delete', id, o, async () => {
      await terminate(this.layout, id);
      this.clearTimer(id);
      await fs.rm(this.layout.vmDir(id), { recursive: true, force: true });
      return undefined;
    }).then(async (r) => {
      // Under the names lock: a linked clone in progress holds a base no chain references yet.
      await this.locks.run('#names', async () => collectBases(this.layout, await this.layout.all())).catch(() => undefined);
      return r;
    });
  }

  power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('Power', id, o, async (cfg) => {
      this.clearTimer(id);
      switch (op) {
        case 'On': await powerOn(this.host, cfg); return undefined;
        case 'Off': await powerOff(this.host, cfg); return undefined;
        case 'Reboot': await reset(this.host, cfg); return undefined;
        case 'ShutdownGraceful': {
          if (!(await beginGraceful(this.host, cfg, gracefulTimeoutSeconds))) return undefined;
          this.schedule(id, cfg.shutdownDeadline!);
          return { id: `${GRACEFUL}${id}:${cfg.shutdownDeadline}` };
        }
        default: throw new ProviderError('InvalidSpec', `Power: unknown operation ${JSON.stringify(op)}`, 'Power');
      }
    });
  }

  reconfigure(id: string, desired: VMPayload, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.op('Reconfigure', o, async () => {
      requireSize('Reconfigure', desired.Class.CPU, desired.Class.MemoryMiB);
      checkDisks('Reconfigure', desired.Disks ?? []);
      return this.withVm('Reconfigure', id, o, async (cfg) => {
        // CPU and memory apply at the next power cycle (Describe says pendingRestart).
        cfg.cpu = desired.Class.CPU;
        cfg.memoryMiB = desired.Class.MemoryMiB;
        const running = (await livePid(this.layout, id)) !== undefined;
        for (const d of desired.Disks ?? []) {
          const have = cfg.disks.find((x) => x.name === d.Name);
          if (!have) {
            cfg.disks.push(await createDataDisk(this.layout.vmDir(id), nextDriveIndex(cfg.disks), d));
          } else if (d.SizeGiB > have.sizeGiB) {
            // Disks only grow; online through QMP when the drive is attached.
            if (running && cfg.launched?.drives.includes(have.drive)) {
              await withQmp(this.layout.qmp(id), (q) => q.execute('block_resize', { device: have.drive, size: d.SizeGiB * GiB }));
            } else {
              await qemuImg.resize(this.layout.file(id, have.file), d.SizeGiB * GiB, { operation: 'Reconfigure' });
            }
            have.sizeGiB = d.SizeGiB;
          }
        }
        return undefined;
      });
    });
  }

  hardwareUpgrade(id: string, _targetVersion: number, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('HardwareUpgrade', id, o, async () => {
      throw new ProviderError('Unimplemented', 'HardwareUpgrade: QEMU VMs have no hardware version (the machine type is pc)', 'HardwareUpgrade');
    });
  }

  describe(id: string, o?: CallOptions): Promise<Description> {
    return this.op('Describe', o, async () => {
      if (!(await this.layout.read(id))) return NOT_FOUND;
      return this.withVm('Describe', id, o, async (cfg) => {
        await settleGraceful(this.host, cfg);
        return description(this.host, cfg, await observe(this.host, id));
      }).catch((e) => (e instanceof ProviderError && e.category === 'NotFound' ? NOT_FOUND : Promise.reject(e)));
    });
  }

  /** Only graceful shutdowns are tasks; their id carries the VM and the deadline, so any instance can answer. */
  taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus> {
    return this.op('TaskStatus', o, async () => {
      const m = task.id.startsWith(GRACEFUL) ? /^graceful:([a-z0-9-]+):(\d+)$/.exec(task.id) : null;
      if (!m) throw new ProviderError('NotFound', `TaskStatus: task ${JSON.stringify(task.id)} not found`, 'TaskStatus');
      const id = m[1]!;
      if (!(await this.layout.read(id))) return { done: true };
      return this.withVm('TaskStatus', id, o, async (cfg) => {
        // A newer power operation replaced this shutdown: it is over as far as its caller is concerned.
        if (cfg.shutdownDeadline !== Number(m[2])) return { done: true };
        return { done: (await settleGraceful(this.host, cfg)).done };
      });
    });
  }

  snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
    return this.withVm('SnapshotCreate', req.vmId, o, async (cfg) => ({ snapshotId: (await createSnapshot(this.host, cfg, req)).id }));
  }

  snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('SnapshotDelete', vmId, o, async (cfg) => {
      await deleteSnapshot(this.host, cfg, snapshotId);
      return undefined;
    });
  }

  snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('SnapshotRevert', vmId, o, async (cfg) => {
      this.clearTimer(vmId);
      await revertSnapshot(this.host, cfg, snapshotId);
      return undefined;
    });
  }

  clone(req: CloneRequest, o?: CallOptions) {
    return this.op('Clone', o, async () => {
      const src = await this.layout.read(req.sourceVmId);
      if (!src) throw new ProviderError('NotFound', `Clone: VM ${JSON.stringify(req.sourceVmId)} not found`, 'Clone');
      if (!req.targetName) throw new ProviderError('InvalidSpec', 'Clone: target name is required', 'Clone');
      const size = cloneSize(req.classJson, src);
      requireSize('Clone', size.cpu, size.memoryMiB);
      const uid = cloneUid(req.customizeJson);
      const cfg = await this.locks.run('#names', async () => {
        const existing = (await this.layout.all()).find((v) => v.name === req.targetName);
        if (existing) {
          if (existing.clonedFrom === src.id) return existing;
          throw new ProviderError('InvalidSpec', `Clone: a VM named ${JSON.stringify(req.targetName)} already exists`, 'Clone');
        }
        const id = this.layout.newId(req.targetName);
        const made = await this.withVm('Clone', src.id, o, async (s) => req.linked
          ? buildLinkedClone(this.layout, id, s, req.targetName, size, await freezeDisks(this.host, s))
          : whilePaused(this.host, s, () => buildFullClone(this.layout, id, s, req.targetName, size)));
        // A clone never has its source's uid; only one customize_json names (a crash before this write leaves it uid-less).
        if (!uid) return made;
        const named: VmConfig = { ...made, uid };
        await this.layout.write(named);
        return named;
      });
      return { targetVmId: cfg.id };
    });
  }

  imagePrepare(): Promise<ImagePrepareResponse> {
    return this.op('ImagePrepare', undefined, async () => {
      throw new ProviderError('Unimplemented', `ImagePrepare: put images in ${this.layout.imagesDir} or use a VMImage path/url`, 'ImagePrepare');
    });
  }

  getCapabilities(o?: CallOptions): Promise<Capabilities> {
    return this.op('GetCapabilities', o, async () => ({ ...QEMU_CAPABILITIES }));
  }

  exportDisk(): Promise<ExportDiskResponse> {
    return this.op('ExportDisk', undefined, async () => { throw new ProviderError('Unimplemented', 'ExportDisk: not supported', 'ExportDisk'); });
  }

  importDisk(): Promise<ImportDiskResponse> {
    return this.op('ImportDisk', undefined, async () => { throw new ProviderError('Unimplemented', 'ImportDisk: not supported', 'ImportDisk'); });
  }

  getDiskInfo(vmId: string, diskId: string, snapshotId: string, o?: CallOptions): Promise<DiskInfo> {
    return this.withVm('GetDiskInfo', vmId, o, (cfg) => diskInfo(this.host, cfg, diskId, snapshotId));
  }

  listVMs(o?: CallOptions): Promise<VMInfo[]> {
    return this.op('ListVMs', o, async () => Promise.all((await this.layout.all()).map((c) => vmInfo(this.host, c))));
  }

  /** Releases timers only: the VMs keep running (that is the point). */
  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Drives a graceful shutdown (presses again, ends it at the deadline) even when nobody polls the task. */
  private schedule(id: string, deadline: number): void {
    this.clearTimer(id);
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.withVm('Power', id, undefined, async (cfg) => {
        if (!(await settleGraceful(this.host, cfg)).done && cfg.shutdownDeadline !== undefined) this.schedule(id, cfg.shutdownDeadline);
      }).catch(() => undefined);
    }, Math.min(Math.max(0, deadline - Date.now()) + 50, REPRESS_MS));
    t.unref();
    this.timers.set(id, t);
  }

  private clearTimer(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
}
