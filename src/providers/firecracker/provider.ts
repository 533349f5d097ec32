/**
 * Firecracker: each VM is a detached `firecracker --api-sock` process
 * described by `<stateDir>/vms/<id>/config.json` and driven over its REST
 * API. The state directory is the only state, so a restarted provider
 * (or a second instance) finds its microVMs again. See
 * docs/providers/firecracker.md.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import {
  ProviderError, type CallOptions, type Capabilities, type CloneRequest, type CreateRequest, type CreateResponse,
  type Description, type DiskInfo, type ExportDiskResponse, type ImagePrepareResponse, type ImportDiskResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { cloneClassSize } from '../clone-class';
import { DEFAULT_HOST_POLICY, type HostPolicy } from '../hostutil';
import { locksFor, type Locks } from '../qemu/locks';
import { cloneUid, plainTags, requestUid } from '../uid';
import { fcApi, toProviderError } from './api';
import { buildClone, buildVm, nicQos, type NetworkRule } from './build';
import { checkDisks, createDataDisk, growDisk, nextDriveId, resolveTemplate } from './disks';
import { Layout, type VmConfig } from './layout';
import { checkSize, nicPatch } from './machine';
import { beginGraceful, observe, powerOff, powerOn, reboot, settleGraceful, type Host } from './power';
import { livePid, removeTaps, terminate } from './process';
import { createSnapshot, deleteSnapshot, revertSnapshot } from './snapshots';
import { checkVersion } from './version';
import { description, diskInfo, FIRECRACKER_CAPABILITIES, NOT_FOUND, vmInfo } from './views';

export interface FirecrackerProviderOptions {
  /** Holds `vms/` (one directory per microVM) and `images/<template>/{vmlinux,rootfs.ext4}`. */
  readonly stateDir: string;
  /** The firecracker binary. Default: FIRECRACKER_BIN, else `firecracker` on PATH. */
  readonly binary?: string;
  /** A network namespace (made by the operator) the processes run in; their taps are created there. */
  readonly netns?: string;
  /** Networks NICs may name, with optional per-NIC rate limits. Default: none (no NIC allowed). */
  readonly networks?: readonly NetworkRule[];
  /** Simultaneous multithreading in the guest (vCPU count 1 or even). Default false. */
  readonly smt?: boolean;
  /** The operator's limits on image paths (default DEFAULT_HOST_POLICY: none allowed). */
  readonly hostPolicy?: HostPolicy;
}

const GRACEFUL = 'graceful:';

export class FirecrackerProvider implements Provider {
  readonly layout: Layout;
  private readonly host: Host;
  private readonly locks: Locks;
  private readonly networks: readonly NetworkRule[];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  readonly ready: Promise<void>;
  /** What the start-up scan found: VM id → Firecracker state or `stopped`. */
  readonly recovered = new Map<string, string>();
  /** The `--version` check run when the provider starts (re-run by Validate, and before a start while it fails). */
  private binaryCheck: Promise<{ ok: boolean; message: string }>;

  constructor(readonly options: FirecrackerProviderOptions) {
    this.layout = new Layout(resolve(options.stateDir));
    this.locks = locksFor(this.layout.stateDir);
    this.networks = options.networks ?? [];
    const binary = options.binary ?? process.env.FIRECRACKER_BIN ?? 'firecracker';
    const rules = new Map(this.networks.map((n) => [n.name, n]));
    this.host = {
      layout: this.layout, settings: { binary, ...(options.netns ? { netns: options.netns } : {}) },
      machine: {
        smt: options.smt ?? false,
        limits: (name) => {
          const r = rules.get(name);
          return { ...(r?.rxBitsPerSecond ? { rx: { bitsPerSecond: r.rxBitsPerSecond } } : {}), ...(r?.txBitsPerSecond ? { tx: { bitsPerSecond: r.txBitsPerSecond } } : {}) };
        },
      },
    };
    this.binaryCheck = checkVersion(binary);
    this.ready = this.recover();
    this.ready.catch(() => undefined);
  }

  /** What the start-up `--version` check found (the provider's own view of its binary). */
  get binaryStatus(): Promise<{ ok: boolean; message: string }> { return this.binaryCheck; }

  /** Refuses, with what to set, anything that would start a process while the binary is missing or too old. */
  private async requireBinary(op: string): Promise<void> {
    let v = await this.binaryCheck;
    if (!v.ok) {
      this.binaryCheck = checkVersion(this.binary);
      v = await this.binaryCheck;
    }
    if (!v.ok) throw new ProviderError('Internal', `${op}: ${v.message}`, op);
  }

  get binary(): string { return this.host.settings.binary; }

  private async recover(): Promise<void> {
    await fs.mkdir(this.layout.vmsDir, { recursive: true });
    await fs.mkdir(this.layout.imagesDir, { recursive: true });
    await this.locks.run('#names', async () => {
      for (const n of await fs.readdir(this.layout.vmsDir)) if (n.startsWith('.tmp-')) await fs.rm(`${this.layout.vmsDir}/${n}`, { recursive: true, force: true });
    });
    for (const cfg of await this.layout.all()) {
      const o = await observe(this.host, cfg.id);
      this.recovered.set(cfg.id, o.pid ? (o.state ?? 'unknown') : 'stopped');
      if (cfg.shutdownDeadline !== undefined) this.schedule(cfg.id, cfg.shutdownDeadline);
    }
  }

  private async op<T>(name: string, o: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    if (o?.signal?.aborted) throw new ProviderError('Retryable', `${name}: cancelled`, name);
    try {
      await this.ready;
      return await fn();
    } catch (e) {
      throw toProviderError(name, e);
    }
  }

  private withVm<T>(name: string, id: string, o: CallOptions | undefined, fn: (cfg: VmConfig) => Promise<T>): Promise<T> {
    return this.op(name, o, () => this.locks.run(id, async () => {
      const cfg = await this.layout.read(id);
      if (!cfg) throw new ProviderError('NotFound', `${name}: VM ${JSON.stringify(id)} not found`, name);
      const before = JSON.stringify(cfg);
      try {
        return await fn(cfg);
      } finally {
        if (JSON.stringify(cfg) !== before && (await fs.stat(this.layout.vmDir(id)).then(() => true, () => false))) await this.layout.write(cfg);
      }
    }));
  }

  validate(o?: CallOptions) {
    return this.op('Validate', o, async () => {
      this.binaryCheck = checkVersion(this.binary);
      const v = await this.binaryCheck;
      if (!v.ok) return v;
      try {
        await fs.access(this.layout.vmsDir, fs.constants.W_OK);
      } catch {
        return { ok: false, message: `state directory ${this.layout.stateDir} is not writable` };
      }
      return { ok: true, message: `${v.message} with state in ${this.layout.stateDir}` };
    });
  }

  create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    return this.op('Create', o, async () => {
      if (!req.name) throw new ProviderError('InvalidSpec', 'Create: name is required', 'Create');
      checkSize('Create', req.class.CPU, req.class.MemoryMiB, this.host.machine.smt);
      checkDisks('Create', req.disks);
      await this.requireBinary('Create');
      const stored: CreateRequest = { ...req, uid: requestUid(req), tags: plainTags(req.tags) };
      const template = await resolveTemplate(this.layout, req.image, this.options.hostPolicy ?? DEFAULT_HOST_POLICY);
      const cfg = await this.locks.run('#names', async () => {
        const existing = (await this.layout.all()).find((v) => v.name === req.name);
        if (existing) throw new ProviderError('InvalidSpec', `Create: a VM named ${JSON.stringify(req.name)} already exists (id ${existing.id})`, 'Create');
        return buildVm(this.layout, this.layout.newId(req.name), stored, template, this.networks);
      });
      await this.withVm('Create', cfg.id, o, (c) => powerOn(this.host, c, 'Create'));
      return { id: cfg.id };
    });
  }

  delete(id: string, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('Delete', id, o, async (cfg) => {
      this.clearTimer(id);
      await terminate(this.layout, id);
      await removeTaps(this.host.settings, cfg.nics.map((n) => n.tap));
      await fs.rm(this.layout.vmDir(id), { recursive: true, force: true });
      return undefined;
    });
  }

  power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('Power', id, o, async (cfg) => {
      this.clearTimer(id);
      // Only what starts a process needs the binary (an On of a running VM changes nothing).
      if (op === 'Reboot' || (op === 'On' && !(await livePid(this.layout, id)))) await this.requireBinary('Power');
      switch (op) {
        case 'On': await powerOn(this.host, cfg); return undefined;
        case 'Off': await powerOff(this.host, cfg); return undefined;
        case 'Reboot': await reboot(this.host, cfg); return undefined;
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
      checkSize('Reconfigure', desired.Class.CPU, desired.Class.MemoryMiB, this.host.machine.smt);
      checkDisks('Reconfigure', desired.Disks ?? []);
      return this.withVm('Reconfigure', id, o, async (cfg) => {
        // vCPUs, memory and new drives apply at the next power on (Describe: pendingRestart).
        cfg.cpu = desired.Class.CPU;
        cfg.memoryMiB = desired.Class.MemoryMiB;
        const o2 = await observe(this.host, id);
        const running = o2.state === 'Running' || o2.state === 'Paused';
        // NIC rate limits: the tenant's qos of each NIC the payload still lists, the operator's limits over it;
        // a running microVM gets them at once (PATCH /network-interfaces), operator changes included.
        const nets = desired.Networks ?? [];
        cfg.nics = cfg.nics.map((nic, i) => {
          const n = nets[i];
          if (!n || (n.NetworkName || n.Name) !== nic.network) return nic;
          const { rxBitsPerSecond: _r, txBitsPerSecond: _t, ...plain } = nic;
          return { ...plain, ...nicQos('Reconfigure', n) };
        });
        if (running) for (const nic of cfg.nics) await fcApi(this.layout.socket(id), nicPatch(nic, this.host.machine));
        for (const d of desired.Disks ?? []) {
          const have = cfg.drives.find((x) => x.name === d.Name);
          if (!have) {
            cfg.drives.push(await createDataDisk(this.layout, id, nextDriveId(cfg.drives), d));
          } else if (d.SizeGiB > have.sizeGiB) {
            await growDisk(this.layout, id, have, d.SizeGiB);
            // A running microVM is told the new size (PATCH re-reads the file).
            if (running && cfg.launched?.drives.includes(have.id)) {
              await fcApi(this.layout.socket(id), { method: 'PATCH', path: `/drives/${have.id}`, body: { drive_id: have.id, path_on_host: this.layout.file(id, have.file) } });
            }
          }
        }
        return undefined;
      });
    });
  }

  hardwareUpgrade(id: string, _targetVersion: number, o?: CallOptions): Promise<TaskRef | undefined> {
    return this.withVm('HardwareUpgrade', id, o, async () => {
      throw new ProviderError('Unimplemented', 'HardwareUpgrade: Firecracker microVMs have no hardware version', 'HardwareUpgrade');
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

  taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus> {
    return this.op('TaskStatus', o, async () => {
      const m = task.id.startsWith(GRACEFUL) ? /^graceful:([a-z0-9-]+):(\d+)$/.exec(task.id) : null;
      if (!m) throw new ProviderError('NotFound', `TaskStatus: task ${JSON.stringify(task.id)} not found`, 'TaskStatus');
      const id = m[1]!;
      if (!(await this.layout.read(id))) return { done: true };
      return this.withVm('TaskStatus', id, o, async (cfg) => {
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
      await this.requireBinary('SnapshotRevert');
      await revertSnapshot(this.host, cfg, snapshotId);
      return undefined;
    });
  }

  clone(req: CloneRequest, o?: CallOptions) {
    return this.op('Clone', o, async () => {
      const src = await this.layout.read(req.sourceVmId);
      if (!src) throw new ProviderError('NotFound', `Clone: VM ${JSON.stringify(req.sourceVmId)} not found`, 'Clone');
      if (!req.targetName) throw new ProviderError('InvalidSpec', 'Clone: target name is required', 'Clone');
      if (req.linked) throw new ProviderError('Unimplemented', 'Clone: Firecracker drives are plain files: only full clones', 'Clone');
      const cls = cloneClassSize(req.classJson);
      const size = { cpu: cls.cpu ?? src.cpu, memoryMiB: cls.memoryMiB ?? src.memoryMiB };
      checkSize('Clone', size.cpu, size.memoryMiB, this.host.machine.smt);
      const uid = cloneUid(req.customizeJson);
      const cfg = await this.locks.run('#names', async () => {
        if ((await this.layout.all()).some((v) => v.name === req.targetName)) throw new ProviderError('InvalidSpec', `Clone: a VM named ${JSON.stringify(req.targetName)} already exists`, 'Clone');
        const id = this.layout.newId(req.targetName);
        return this.withVm('Clone', src.id, o, (s) => this.whilePaused(s, () => buildClone(this.layout, id, s, req.targetName, size, uid, this.networks)));
      });
      return { targetVmId: cfg.id };
    });
  }

  /** Runs `fn` with the VM's vCPUs paused when it runs, so its drive files are consistent. */
  private async whilePaused<T>(cfg: VmConfig, fn: () => Promise<T>): Promise<T> {
    const running = (await observe(this.host, cfg.id)).state === 'Running';
    const sock = this.layout.socket(cfg.id);
    if (running) await fcApi(sock, { method: 'PATCH', path: '/vm', body: { state: 'Paused' } });
    try {
      return await fn();
    } finally {
      if (running) await fcApi(sock, { method: 'PATCH', path: '/vm', body: { state: 'Resumed' } });
    }
  }

  imagePrepare(): Promise<ImagePrepareResponse> {
    return this.op('ImagePrepare', undefined, async () => {
      throw new ProviderError('Unimplemented', `ImagePrepare: install templates as ${this.layout.imagesDir}/<name>/{vmlinux,rootfs.ext4}`, 'ImagePrepare');
    });
  }

  getCapabilities(o?: CallOptions): Promise<Capabilities> {
    return this.op('GetCapabilities', o, async () => ({ ...FIRECRACKER_CAPABILITIES }));
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
    return this.op('ListVMs', o, async () => Promise.all((await this.layout.all()).map(async (c) => vmInfo(this.host, c, await observe(this.host, c.id)))));
  }

  /** Releases timers only: the microVMs keep running. */
  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Ends a graceful shutdown at its deadline even when nobody polls the task. */
  private schedule(id: string, deadline: number): void {
    this.clearTimer(id);
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.withVm('Power', id, undefined, async (cfg) => {
        if (!(await settleGraceful(this.host, cfg)).done && cfg.shutdownDeadline !== undefined) this.schedule(id, cfg.shutdownDeadline);
      }).catch(() => undefined);
    }, Math.min(Math.max(0, deadline - Date.now()) + 50, 5_000));
    t.unref();
    this.timers.set(id, t);
  }

  private clearTimer(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
}
