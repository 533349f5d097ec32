/**
 * A deterministic in-memory Provider for tests and benchmarks. Ids are
 * `mem-<name>-<n>`, addresses come from the name, and nothing depends on
 * wall-clock time except tasks configured with `completeAfterMs`.
 */
import {
  ProviderError, type CallOptions, type Capabilities, type CloneRequest, type CreateRequest,
  type CreateResponse, type Description, type DiskInfo, type ExportDiskRequest, type ExportDiskResponse,
  type ImagePrepareRequest, type ImagePrepareResponse, type ImportDiskRequest, type ImportDiskResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { cloneUid } from '../uid';
import { Faults, MEMORY_OPS, type MemoryOp } from './faults';
import { cloneClassSize } from '../clone-class';
import { describeVm, disk, newVm, requireSize, vmInfo } from './model';
import { checkAbort, MEMORY_CAPABILITIES, sleep, type MemoryEvent, type MemoryProviderOptions } from './options';
import { MemoryStore, type MemoryState } from './store';
import { diskInfo, exportDisk, importDisk, needVm, prepareImage } from './transfer';

export { MEMORY_CAPABILITIES, type MemoryEvent, type MemoryProviderOptions } from './options';

export class MemoryProvider implements Provider {
  readonly faults = new Faults();
  /** Calls per operation, counted before faults apply. */
  readonly calls = Object.fromEntries(MEMORY_OPS.map((op) => [op, 0])) as Record<MemoryOp, number>;
  readonly events: MemoryEvent[] = [];
  readonly store: MemoryStore;
  readonly capabilities: Capabilities;
  private readonly now: () => number;
  private closed = false;

  constructor(readonly options: MemoryProviderOptions = {}) {
    this.store = options.store ?? new MemoryStore(options.stateFile);
    this.capabilities = { ...MEMORY_CAPABILITIES, ...options.capabilities };
    this.now = options.now ?? Date.now;
  }

  /** The VMs, for assertions. */
  vms(): MemoryState['vms'] {
    return this.store.read().vms;
  }

  validate(o?: CallOptions) {
    return this.run('Validate', o, undefined, () => {
      const c = this.options.credentials;
      if (c && !c.username) return { ok: false, message: 'credentials lack "username"' };
      return { ok: true, message: '' };
    });
  }

  create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    return this.mutating('Create', o, req.name, (s, failed) => {
      if (!req.name) throw new ProviderError('InvalidSpec', 'Create: name is required', 'Create');
      requireSize('Create', req.class.CPU, req.class.MemoryMiB);
      // Not idempotent by name, like real hypervisors: a second VM of that name is refused, and the
      // reconciler finds an earlier attempt's VM itself (by uid, through ListVMs).
      const existing = Object.values(s.vms).find((v) => v.name === req.name);
      if (existing) {
        throw new ProviderError('InvalidSpec', `Create: a VM named ${JSON.stringify(req.name)} already exists (id ${existing.id})`, 'Create');
      }
      const id = `mem-${req.name}-${MemoryStore.next(s)}`;
      if (!failed) s.vms[id] = newVm(id, req, this.options.initialPowerState ?? 'On');
      return { id };
    });
  }

  delete(id: string, o?: CallOptions) {
    return this.mutating('Delete', o, id, (s, failed) => {
      needVm(s, id, 'Delete');
      if (!failed) delete s.vms[id];
      return {};
    }).then((r) => r.task);
  }

  power(id: string, op: PowerOp, _gracefulTimeoutSeconds: number, o?: CallOptions) {
    return this.mutating('Power', o, id, (s, failed) => {
      const vm = needVm(s, id, 'Power');
      if (!['On', 'Off', 'Reboot', 'ShutdownGraceful'].includes(op)) {
        throw new ProviderError('InvalidSpec', `Power: unknown operation ${JSON.stringify(op)}`, 'Power');
      }
      if (failed) return {};
      const target = op === 'On' || op === 'Reboot' ? 'On' : 'Off';
      if (target === 'On' && (vm.powerState === 'Off' || op === 'Reboot')) vm.bootCount += 1;
      vm.powerState = target;
      return {};
    }).then((r) => r.task);
  }

  reconfigure(id: string, desired: VMPayload, o?: CallOptions) {
    return this.mutating('Reconfigure', o, id, (s, failed) => {
      const vm = needVm(s, id, 'Reconfigure');
      requireSize('Reconfigure', desired.Class.CPU, desired.Class.MemoryMiB);
      if (failed) return {};
      vm.cpu = desired.Class.CPU;
      vm.memoryMiB = desired.Class.MemoryMiB;
      // Disks only grow (like libvirt and vSphere, a smaller size is a no-op); new names are added.
      for (const d of desired.Disks ?? []) {
        const have = vm.disks.find((x) => x.name === d.Name);
        if (have) have.sizeGiB = Math.max(have.sizeGiB, d.SizeGiB);
        else vm.disks.push(disk(vm.id, vm.disks.length, d.Name, d.SizeGiB, d.Type || 'thin', ''));
      }
      return {};
    }).then((r) => r.task);
  }

  hardwareUpgrade(id: string, targetVersion: number, o?: CallOptions) {
    return this.mutating('HardwareUpgrade', o, id, (s, failed) => {
      const vm = needVm(s, id, 'HardwareUpgrade');
      if (targetVersion < vm.hardwareVersion) {
        throw new ProviderError('InvalidSpec', `HardwareUpgrade: cannot downgrade from ${vm.hardwareVersion} to ${targetVersion}`, 'HardwareUpgrade');
      }
      if (!failed) vm.hardwareVersion = targetVersion;
      return {};
    }).then((r) => r.task);
  }

  describe(id: string, o?: CallOptions): Promise<Description> {
    return this.run('Describe', o, id, () => {
      const vm = this.store.read().vms[id];
      // The wire protocol answers an unknown id with exists=false, not an error.
      return vm ? describeVm(vm) : { exists: false, powerState: '', ips: [], consoleURL: '', providerRaw: {} };
    });
  }

  taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus> {
    return this.run('TaskStatus', o, task.id, () =>
      this.store.mutate((s) => {
        const t = s.tasks[task.id];
        if (!t) throw new ProviderError('NotFound', `TaskStatus: task ${JSON.stringify(task.id)} not found`, 'TaskStatus');
        t.polls += 1;
        const done = (t.afterPolls !== undefined && t.polls >= t.afterPolls) || (t.afterMs !== undefined && this.now() - t.startedAt >= t.afterMs);
        return done ? (t.error ? { done, error: t.error } : { done }) : { done: false };
      }),
    );
  }

  snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
    return this.mutating('SnapshotCreate', o, req.vmId, (s, failed) => {
      const vm = needVm(s, req.vmId, 'SnapshotCreate');
      this.requireSnapshots('SnapshotCreate');
      if (req.includeMemory && !this.capabilities.supportsMemorySnapshots) {
        throw new ProviderError('InvalidSpec', 'SnapshotCreate: memory snapshots are not supported', 'SnapshotCreate');
      }
      const snapshotId = `snap-${req.nameHint || 'snapshot'}-${MemoryStore.next(s)}`;
      if (!failed) {
        vm.snapshots.push({
          id: snapshotId, name: req.nameHint, description: req.description, includeMemory: req.includeMemory,
          cpu: vm.cpu, memoryMiB: vm.memoryMiB, powerState: vm.powerState,
        });
      }
      return { snapshotId };
    });
  }

  snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions) {
    return this.mutating('SnapshotDelete', o, vmId, (s, failed) => {
      const vm = needVm(s, vmId, 'SnapshotDelete');
      this.requireSnapshots('SnapshotDelete');
      const i = vm.snapshots.findIndex((x) => x.id === snapshotId);
      if (i < 0) throw new ProviderError('NotFound', `SnapshotDelete: snapshot ${JSON.stringify(snapshotId)} not found`, 'SnapshotDelete');
      if (!failed) vm.snapshots.splice(i, 1);
      return {};
    }).then((r) => r.task);
  }

  snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions) {
    return this.mutating('SnapshotRevert', o, vmId, (s, failed) => {
      const vm = needVm(s, vmId, 'SnapshotRevert');
      this.requireSnapshots('SnapshotRevert');
      const snap = vm.snapshots.find((x) => x.id === snapshotId);
      if (!snap) throw new ProviderError('NotFound', `SnapshotRevert: snapshot ${JSON.stringify(snapshotId)} not found`, 'SnapshotRevert');
      if (!failed) Object.assign(vm, { cpu: snap.cpu, memoryMiB: snap.memoryMiB, powerState: snap.powerState });
      return {};
    }).then((r) => r.task);
  }

  clone(req: CloneRequest, o?: CallOptions) {
    return this.mutating('Clone', o, req.sourceVmId, (s, failed) => {
      const src = needVm(s, req.sourceVmId, 'Clone');
      if (!req.targetName) throw new ProviderError('InvalidSpec', 'Clone: target name is required', 'Clone');
      if (req.linked && !this.capabilities.supportsLinkedClones) {
        throw new ProviderError('InvalidSpec', 'Clone: linked clones are not supported', 'Clone');
      }
      const existing = Object.values(s.vms).find((v) => v.name === req.targetName);
      if (existing) {
        // A retried clone finds its own result; any other VM of that name is a conflict.
        if (existing.clonedFrom === src.id) return { targetVmId: existing.id };
        throw new ProviderError('InvalidSpec', `Clone: a VM named ${JSON.stringify(req.targetName)} already exists`, 'Clone');
      }
      const size = this.options.ignoreCloneClass ? {} : cloneClassSize(req.classJson);
      const cpu = size.cpu ?? src.cpu;
      const memoryMiB = size.memoryMiB ?? src.memoryMiB;
      requireSize('Clone', cpu, memoryMiB);
      // A clone is a VM of its own: never the source's uid, only one customize_json names.
      const { uid: _sourceUid, ...rest } = structuredClone(src);
      const uid = cloneUid(req.customizeJson);
      const id = `mem-${req.targetName}-${MemoryStore.next(s)}`;
      if (!failed) {
        s.vms[id] = {
          ...rest, ...(uid ? { uid } : {}), id, name: req.targetName, cpu, memoryMiB, powerState: 'Off', bootCount: 0,
          snapshots: [], execLog: [], clonedFrom: src.id, cloneType: req.linked ? 'linked' : 'full',
          disks: src.disks.map((d, i) => disk(id, i, d.name, d.sizeGiB, d.type, req.linked ? d.path : '')),
        };
      }
      return { targetVmId: id };
    });
  }

  imagePrepare(req: ImagePrepareRequest, o?: CallOptions): Promise<ImagePrepareResponse> {
    return this.mutating('ImagePrepare', o, req.targetName, (s) => {
      if (!this.capabilities.supportsImageImport) throw new ProviderError('Unimplemented', 'ImagePrepare: not supported', 'ImagePrepare');
      const img = prepareImage(s, req);
      return { preparedImageId: img.id, preparedImagePath: img.path };
    });
  }

  getCapabilities(o?: CallOptions): Promise<Capabilities> {
    return this.run('GetCapabilities', o, undefined, () => ({ ...this.capabilities }));
  }

  exportDisk(req: ExportDiskRequest, o?: CallOptions): Promise<ExportDiskResponse> {
    return this.mutating('ExportDisk', o, req.vmId, (s) => {
      if (!this.capabilities.supportsDiskExport) throw new ProviderError('Unimplemented', 'ExportDisk: not supported', 'ExportDisk');
      const r = exportDisk(s, req);
      return { exportId: r.exportId, estimatedSizeBytes: r.sizeBytes, checksum: r.checksum };
    });
  }

  importDisk(req: ImportDiskRequest, o?: CallOptions): Promise<ImportDiskResponse> {
    return this.mutating('ImportDisk', o, req.targetName, (s) => {
      if (!this.capabilities.supportsDiskImport) throw new ProviderError('Unimplemented', 'ImportDisk: not supported', 'ImportDisk');
      const r = importDisk(s, req);
      return { diskId: r.diskId, path: r.path, actualSizeBytes: r.sizeBytes, checksum: r.checksum };
    });
  }

  getDiskInfo(vmId: string, diskId: string, snapshotId: string, o?: CallOptions): Promise<DiskInfo> {
    return this.run('GetDiskInfo', o, vmId, () => diskInfo(this.store.read(), vmId, diskId, snapshotId));
  }

  listVMs(o?: CallOptions): Promise<VMInfo[]> {
    return this.run('ListVMs', o, undefined, () =>
      Object.values(this.store.read().vms).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(vmInfo),
    );
  }

  guestExec(id: string, command: readonly string[], o?: CallOptions) {
    return this.run('GuestExec', o, id, () =>
      this.store.mutate((s) => {
        const vm = needVm(s, id, 'GuestExec');
        if (vm.powerState !== 'On') throw new ProviderError('Retryable', `GuestExec: VM ${id} is not running`, 'GuestExec');
        vm.execLog.push([...command]);
        return this.faults.takeExec() ?? { exitCode: 0, output: '' };
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private requireSnapshots(op: string): void {
    if (!this.capabilities.supportsSnapshots) throw new ProviderError('Unimplemented', `${op}: snapshots are not supported`, op);
  }

  /**
   * A state-changing operation: `fn` validates and (unless a task fault
   * says the operation fails) applies the change, then a task is attached
   * when tasks are asynchronous or a failure must be reported through one.
   */
  private mutating<T extends object>(
    op: MemoryOp, o: CallOptions | undefined, target: string | undefined,
    fn: (s: MemoryState, failed: boolean) => T,
  ): Promise<T & { task?: TaskRef }> {
    return this.run(op, o, target, () => {
      // Peek first: a call refused by validation must not use up the injected task failure.
      const failure = this.faults.peekTask(op);
      return this.store.mutate((s) => {
        const out = fn(s, failure !== undefined);
        if (failure !== undefined) this.faults.takeTask(op);
        const task = this.newTask(s, op, failure);
        return task ? { ...out, task } : out;
      });
    });
  }

  private newTask(s: MemoryState, op: string, error: string | undefined): TaskRef | undefined {
    const cfg = this.options.asyncTasks;
    if (!cfg && error === undefined) return undefined;
    const id = `task-${op.toLowerCase()}-${MemoryStore.next(s)}`;
    const timing = typeof cfg === 'object' ? cfg : {};
    const afterPolls = timing.completeAfterMs === undefined ? (timing.completeAfterPolls ?? (cfg ? 2 : 1)) : timing.completeAfterPolls;
    s.tasks[id] = { id, op, startedAt: this.now(), polls: 0, afterPolls, afterMs: timing.completeAfterMs, ...(error ? { error } : {}) };
    return { id };
  }

  /** Counting, latency, cancellation and call faults around every operation. */
  private async run<T>(op: MemoryOp, o: CallOptions | undefined, target: string | undefined, fn: () => T): Promise<T> {
    this.calls[op] += 1;
    const record = (e?: unknown) => {
      const error = e === undefined ? undefined : e instanceof ProviderError ? e.category : String(e);
      this.events.push({ seq: this.events.length + 1, op, ...(target !== undefined ? { target } : {}), outcome: e === undefined ? 'ok' : 'error', ...(error ? { error } : {}) });
    };
    try {
      if (this.closed) throw new ProviderError('Retryable', `${op}: provider closed`, op);
      if (this.options.latencyMs) await sleep(this.options.latencyMs, op, o);
      checkAbort(op, o);
      const fault = this.faults.takeCall(op);
      if (fault === 'timeout') {
        await sleep(o?.timeoutMs ?? this.options.timeoutFaultMs ?? 5000, op, o);
        throw new ProviderError('Retryable', `${op}: deadline exceeded`, op);
      }
      if (fault) throw fault;
      const out = fn();
      record();
      return out;
    } catch (e) {
      record(e);
      throw e;
    }
  }
}
