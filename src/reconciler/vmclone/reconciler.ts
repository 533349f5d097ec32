/**
 * The VMClone reconcile function: a one-shot job that produces a new
 * VirtualMachine (./plan.ts says how) and then leaves it alone.
 *
 * No second clone: the target VirtualMachine is created first (its uid is
 * the provider VM's identity), the intent (phase Cloning) is written before
 * the Clone RPC and refused when our view of the status is stale, and a
 * reconcile that finds an intent without `targetVMID` looks on the provider
 * for a VM carrying the target's uid before cloning. The new VM is the
 * user's once bound (`status.id` set); before that, deleting the VMClone
 * removes what it made.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { Provider as ProviderObject } from '../../generated/provider';
import type { VMClone, VMCloneStatus } from '../../generated/vm-clone';
import { isProviderError, ProviderError, type CallOptions } from '../../providers/provider';
import { uidTag } from '../../providers/uid';
import type { ControllerDeps } from '../deps';
import { durationMs } from '../duration';
import { Kinds, refKey } from '../kinds';
import { providerKey } from '../provider-connections';
import { addFinalizer, hasFinalizer, isAlreadyExists, isNotFound, removeFinalizer, rfc3339, StatusDraft, updateStatus, writeStatus, type Result } from '../runtime';
import { pollTask } from '../task';
import { checkedVmId, IdentityMismatch, isForeign } from '../vm/identity';
import { providerOf } from '../vm/resolve';
import { classJson, CLONE_ANNOTATIONS, cloneType, refusal, sourceKind, targetRefusal, targetVm, type Refusal } from './plan';

export const CLONE_FINALIZER = 'clone.infra.virtrigaud.io/finalizer';

type Draft = StatusDraft<VMCloneStatus>;

export interface VmCloneTiming {
  /** Poll interval of a clone task and of a VM being created from an image. */
  readonly pollMs: number;
  /** Re-check while the source is missing or not created yet. */
  readonly waitMs: number;
}

const DEFAULT_TIMING: VmCloneTiming = { pollMs: 2_000, waitMs: 10_000 };

export class VmCloneReconciler {
  private readonly timing: VmCloneTiming;

  constructor(private readonly o: ControllerDeps & { readonly timing?: Partial<VmCloneTiming> }) {
    this.timing = { ...DEFAULT_TIMING, ...o.timing };
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Result | void> {
    const cached = this.o.informers.clones.get(key);
    if (!cached) return;
    let clone = structuredClone(cached);
    const call: CallOptions = { signal, timeoutMs: 300_000 };
    if (clone.metadata?.deletionTimestamp) return this.finalize(clone, call);
    const phase = clone.status?.phase;
    if (phase === 'Ready' || phase === 'Failed') return;
    if (!hasFinalizer(clone, CLONE_FINALIZER)) clone = await addFinalizer(this.o.client, Kinds.VMClone, clone, CLONE_FINALIZER);
    const draft = new StatusDraft<VMCloneStatus>(clone);
    draft.status.observedGeneration = clone.metadata?.generation;
    const refused = refusal(clone);
    if (refused) return this.fail(clone, draft, refused);
    try {
      return sourceKind(clone) === 'image' ? await this.fromImage(clone, draft, call) : await this.fromVm(clone, draft, call);
    } catch (err) {
      return this.providerFailure(clone, draft, err, call);
    }
  }

  private async fromVm(clone: VMClone, draft: Draft, call: CallOptions): Promise<Result | void> {
    const i = this.o.informers;
    const ns = clone.metadata!.namespace!;
    const srcName = clone.spec!.source.vmRef!.name;
    const source = i.vms.get(`${ns}/${srcName}`);
    if (!source) return this.waiting(clone, draft, 'SourceNotFound', `VirtualMachine "${ns}/${srcName}" not found`);
    // The source's Provider, by the VM reconciler's rule (a Provider that does not allow the namespace is never called).
    const found = providerOf(source, { provider: (k) => i.providers.get(k), namespaceLabels: (n) => i.namespaces?.get(n)?.metadata?.labels });
    if (!('provider' in found)) {
      if (found.reason === 'ReferenceNotPermitted') return this.fail(clone, draft, { reason: 'Unsupported', message: found.message });
      return this.waiting(clone, draft, 'WaitingForDependencies', found.message);
    }
    const providerObj = found.provider;
    const pKey = providerKey(providerObj);
    const refused = targetRefusal(clone, source, pKey);
    if (refused) return this.fail(clone, draft, refused);
    if (!source.status?.id) return this.waiting(clone, draft, 'WaitingForDependencies', `VirtualMachine "${ns}/${srcName}" is not created on the provider yet`);
    // The copy is made at the target class's size: without the class it would silently be the source's.
    const className = clone.spec!.target.classRef?.name;
    if (className && !i.classes.get(`${ns}/${className}`)) return this.waiting(clone, draft, 'WaitingForDependencies', `VMClass "${ns}/${className}" (spec.target.classRef) not found`);
    const type = cloneType(clone);
    if (type === 'LinkedClone' && providerObj.status?.reportedCapabilities?.supportsLinkedClones === false) {
      return this.fail(clone, draft, { reason: 'LinkedCloneUnsupported', message: `Provider ${pKey} does not support linked clones (status.reportedCapabilities.supportsLinkedClones false); use spec.options.type FullClone` });
    }
    const target = await this.ensureTarget(clone, draft, source);
    if (!target) return;
    const status = draft.status;
    // Bound already (a restart after binding, before Ready was written): only Ready is owed.
    if (target.status?.id && status.targetVMID === target.status.id) return this.ready(clone, draft, target);
    const provider = await this.o.connections.get(providerObj);
    if (!status.targetVMID) {
      const sourceId = await checkedVmId(provider, source, call);
      let id: string | undefined;
      if (status.phase === 'Cloning') {
        // An earlier attempt recorded its intent but no id: it may have cloned and died. Confirm on the server, then look.
        const fresh = await this.o.client.get<VMClone>(Kinds.VMClone, ns, clone.metadata!.name!);
        if (!fresh || fresh.metadata?.uid !== clone.metadata?.uid) return;
        // Our cache lags behind the stored clone (e.g. our own last write): decide on what is stored, next time.
        if (fresh.metadata?.resourceVersion !== clone.metadata?.resourceVersion) return { requeueAfterMs: this.timing.pollMs };
        id = (await provider.listVMs(call)).find((v) => v.uid === target.metadata?.uid)?.id;
        if (id) this.o.events.event(clone, 'Normal', 'Recovered', `found clone ${id} made by an earlier attempt; not cloning again`);
      } else {
        status.phase = 'Cloning';
        status.startTime ??= rfc3339();
        status.actualCloneType = type;
        status.targetRef = { name: target.metadata!.name! };
        status.progress = { totalDisks: 1 + (source.spec?.disks?.length ?? 0), completedDisks: 0, overallPercentage: 0 };
        draft.condition('Cloning', true, 'Cloning', `cloning VM ${source.status.id} on Provider ${pKey} (${type})`);
        draft.condition('Ready', false, 'Cloning', `cloning VirtualMachine "${srcName}" into "${target.metadata!.name}"`);
        if (!(await this.write(clone, draft, { unlessStale: true }))) return { requeue: true };
      }
      let task: string | undefined;
      if (!id) {
        const cls = className ? i.classes.get(`${ns}/${className}`) : undefined;
        const res = await provider.clone({
          sourceVmId: sourceId,
          targetName: target.metadata!.name!,
          linked: type === 'LinkedClone',
          classJson: clone.spec!.target.classRef ? classJson(cls?.spec as Record<string, unknown> | undefined) : '',
          placementJson: clone.spec!.target.placementRef ? JSON.stringify({ name: clone.spec!.target.placementRef.name }) : '',
          // The target's uid marks the copy as its VM (../../providers/uid.ts cloneUid); the tags go with it.
          customizeJson: JSON.stringify({ ...(clone.spec!.customization ?? {}), tags: [...(clone.spec!.customization?.tags ?? []), uidTag(target.metadata!.uid!)] }),
        }, call);
        id = res.targetVmId;
        task = res.task?.id || undefined;
        this.o.events.event(clone, 'Normal', 'Cloning', `clone ${id} of VM ${sourceId} requested`);
      }
      status.targetVMID = id;
      status.taskRef = task;
      // The id is written whatever else changed meanwhile: dropping it would leave an orphan on the provider.
      await this.write(clone, draft);
    }
    if (status.taskRef) {
      const st = await pollTask(provider, status.taskRef, call);
      if (!st.done) {
        if (this.timedOut(clone)) return this.fail(clone, draft, { reason: 'Timeout', message: `the clone did not finish within spec.options.timeout ${clone.spec?.options?.timeout ?? '30m'}; what it made was removed` }, call);
        await this.write(clone, draft);
        return { requeueAfterMs: this.timing.pollMs };
      }
      status.taskRef = undefined;
      if (st.error) return this.fail(clone, draft, { reason: 'ProviderError', message: st.error }, call);
    }
    const madeId = status.targetVMID!;
    // status.targetVMID is only as trustworthy as whoever wrote it: bind only a provider VM that carries the target's uid.
    const made = await provider.describe(madeId, call);
    if (!made.exists) return this.fail(clone, draft, { reason: 'ProviderError', message: `clone ${status.targetVMID} is not on Provider ${pKey}` }, call);
    if (isForeign(made.uid, target)) {
      status.targetVMID = undefined;
      return this.fail(clone, draft, { reason: 'IdentityMismatch', message: `VM ${madeId} on the provider belongs to another VirtualMachine (uid ${made.uid}), not to the clone's target "${target.metadata!.name}"; nothing is bound to it` }, call);
    }
    // Bind: the VM reconciler takes over the provider VM once status.id names it. The copy's observed size goes
    // with it, so a provider that did not apply class_json gets the copy resized to its class like any VM.
    const observed = made.cpu && made.memoryMiB ? { currentResources: { cpu: made.cpu, memoryMiB: made.memoryMiB } } : {};
    const bound = await updateStatus<VirtualMachine>(this.o.client, Kinds.VirtualMachine, target, (vm) => {
      if (vm.status?.id) return false;
      vm.status = { ...vm.status, id: status.targetVMID, ...observed };
    });
    if (bound.status?.id !== status.targetVMID) {
      return this.fail(clone, draft, { reason: 'Unsupported', message: `VirtualMachine "${target.metadata!.name}" was bound to ${bound.status?.id} by someone else; clone ${status.targetVMID} left on the provider` });
    }
    return this.ready(clone, draft, bound);
  }

  /** source.imageRef: the VM reconciler creates the VM; the clone is Ready once the provider has it. */
  private async fromImage(clone: VMClone, draft: Draft, call: CallOptions): Promise<Result | void> {
    const target = await this.ensureTarget(clone, draft, undefined);
    if (!target) return;
    const status = draft.status;
    if (status.phase !== 'Cloning') {
      status.phase = 'Cloning';
      status.startTime ??= rfc3339();
      status.actualCloneType = 'FullClone';
      status.targetRef = { name: target.metadata!.name! };
      status.progress = { totalDisks: 1 + (clone.spec!.target.disks?.length ?? 0), completedDisks: 0, overallPercentage: 0 };
      draft.condition('Cloning', true, 'Cloning', `creating VirtualMachine "${target.metadata!.name}" from VMImage "${clone.spec!.source.imageRef!.name}"`);
      draft.condition('Ready', false, 'Cloning', `creating VirtualMachine "${target.metadata!.name}" from VMImage "${clone.spec!.source.imageRef!.name}"`);
      this.o.events.event(clone, 'Normal', 'Cloning', `creating VirtualMachine "${target.metadata!.name}" from VMImage "${clone.spec!.source.imageRef!.name}"`);
    }
    if (target.status?.phase === 'Failed') {
      const why = target.status.message || target.status.conditions?.find((c) => c.type === 'Ready')?.message || 'the VM failed';
      return this.fail(clone, draft, { reason: 'ProviderError', message: `VirtualMachine "${target.metadata!.name}" failed: ${why}; it was removed` }, call);
    }
    if (!target.status?.id) {
      if (this.timedOut(clone)) return this.fail(clone, draft, { reason: 'Timeout', message: `VirtualMachine "${target.metadata!.name}" was not created within spec.options.timeout ${clone.spec?.options?.timeout ?? '30m'}; it was removed` }, call);
      await this.write(clone, draft);
      return { requeueAfterMs: this.timing.pollMs };
    }
    status.targetVMID = target.status.id;
    return this.ready(clone, draft, target);
  }

  /**
   * The target VirtualMachine, created when missing. Undefined (the clone
   * failed or waits) when the name is taken by a VM this clone did not make,
   * or when the VM it made was deleted before it was bound.
   */
  private async ensureTarget(clone: VMClone, draft: Draft, source: VirtualMachine | undefined): Promise<VirtualMachine | undefined> {
    const ns = clone.metadata!.namespace!;
    const name = clone.spec!.target.name;
    let vm = this.o.informers.vms.get(`${ns}/${name}`) ?? (await this.o.client.get<VirtualMachine>(Kinds.VirtualMachine, ns, name));
    if (vm && vm.metadata?.annotations?.[CLONE_ANNOTATIONS.clone] !== clone.metadata!.name) {
      await this.fail(clone, draft, { reason: 'TargetExists', message: `VirtualMachine "${ns}/${name}" exists and was not made by this VMClone; nothing is done to it` });
      return undefined;
    }
    if (!vm && draft.status.targetRef) {
      await this.fail(clone, draft, { reason: 'TargetDeleted', message: `VirtualMachine "${ns}/${name}" was deleted before the clone finished` });
      return undefined;
    }
    if (!vm) {
      try {
        vm = await this.o.client.create<VirtualMachine>(Kinds.VirtualMachine, targetVm(clone, source));
        this.o.events.event(clone, 'Normal', 'TargetCreated', `created VirtualMachine "${name}"`);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        vm = await this.o.client.get<VirtualMachine>(Kinds.VirtualMachine, ns, name);
        if (!vm) throw e;
        return this.ensureTarget(clone, draft, source);
      }
    }
    return vm;
  }

  private async ready(clone: VMClone, draft: Draft, target: VirtualMachine): Promise<void> {
    const s = draft.status;
    s.phase = 'Ready';
    s.completionTime = rfc3339();
    s.taskRef = undefined;
    s.message = `VirtualMachine "${target.metadata!.name}" is ${s.targetVMID} on the provider`;
    s.progress = { ...s.progress, completedDisks: s.progress?.totalDisks, overallPercentage: 100 };
    draft.condition('Cloning', false, 'Completed', 'the clone is complete');
    draft.report(this.o.events, 'Ready', true, 'Completed', `VirtualMachine "${target.metadata!.name}" is ready (${s.targetVMID})`);
    await this.write(clone, draft);
  }

  /**
   * Ends the clone Failed. With `call` (a failure after the target was made), what this clone made and
   * did not bind is removed first, so a failed clone leaves nothing behind.
   */
  private async fail(clone: VMClone, draft: Draft, r: Refusal, call?: CallOptions): Promise<void> {
    if (call && draft.status.targetRef) {
      await this.discardMade(clone, draft.status.targetVMID, call).catch((e: unknown) => {
        this.o.events.event(clone, 'Warning', 'DiscardFailed', (e as Error).message);
      });
    }
    draft.status.phase = 'Failed';
    draft.status.message = r.message;
    draft.status.taskRef = undefined;
    draft.condition('Cloning', false, r.reason, r.message);
    draft.condition('Failed', true, r.reason, r.message);
    draft.report(this.o.events, 'Ready', false, r.reason, r.message);
    await this.write(clone, draft);
  }

  private async waiting(clone: VMClone, draft: Draft, reason: string, message: string): Promise<Result> {
    if (draft.status.phase !== 'Cloning') draft.status.phase = 'Pending';
    draft.report(this.o.events, 'Ready', false, reason, message);
    await this.write(clone, draft);
    return { requeueAfterMs: this.timing.waitMs };
  }

  /** A provider error: retried as spec.options.retryPolicy says when it may pass; terminal otherwise. */
  private async providerFailure(clone: VMClone, draft: Draft, err: unknown, call: CallOptions): Promise<Result | void> {
    const message = (err as Error).message;
    if (err instanceof IdentityMismatch) return this.fail(clone, draft, { reason: 'IdentityMismatch', message });
    if (err instanceof ProviderError && (err.category === 'InvalidSpec' || err.category === 'Unimplemented' || err.category === 'NotFound')) {
      const reason = err.category === 'NotFound' ? 'SourceNotFound' : /linked/i.test(message) ? 'LinkedCloneUnsupported' : err.category === 'Unimplemented' ? 'Unsupported' : 'ProviderError';
      return this.fail(clone, draft, { reason, message }, call);
    }
    if (!(err instanceof ProviderError)) throw err;
    const policy = clone.spec?.options?.retryPolicy ?? {};
    const retries = draft.status.retryCount ?? 0;
    if (retries >= (policy.maxRetries ?? 3)) return this.fail(clone, draft, { reason: 'ProviderError', message: `${message} (after ${retries} retries)` }, call);
    draft.status.retryCount = retries + 1;
    draft.status.lastRetryTime = rfc3339();
    draft.report(this.o.events, 'Ready', false, 'ProviderError', `${message}; retry ${retries + 1} of ${policy.maxRetries ?? 3}`);
    await this.write(clone, draft);
    return { requeueAfterMs: durationMs(policy.retryDelay, 300_000) * (policy.backoffMultiplier ?? 2) ** retries };
  }

  private timedOut(clone: VMClone): boolean {
    const start = Date.parse(clone.status?.startTime ?? '');
    return !Number.isNaN(start) && Date.now() - start > durationMs(clone.spec?.options?.timeout, 30 * 60_000);
  }

  /**
   * Removes what an unfinished clone made and did not bind: its VirtualMachine and, for a vmRef clone, the
   * provider VM, but only one that carries that VirtualMachine's uid (a recorded id may have been written by
   * anyone who can write status). Never the source, never a bound VM.
   */
  private async discardMade(clone: VMClone, recordedId: string | undefined, call: CallOptions): Promise<void> {
    const ns = clone.metadata!.namespace!;
    const name = clone.spec?.target?.name ?? '';
    const vm = await this.o.client.get<VirtualMachine>(Kinds.VirtualMachine, ns, name);
    const ours = vm?.metadata?.annotations?.[CLONE_ANNOTATIONS.clone] === clone.metadata!.name ? vm : undefined;
    if (!ours || ours.status?.id) return;
    if (sourceKind(clone) === 'vm') {
      const providerObj = this.o.informers.providers.get(refKey(ours.spec!.providerRef, ns)) as ProviderObject | undefined;
      if (providerObj) {
        const provider = await this.o.connections.get(providerObj);
        const id = (await provider.listVMs(call)).find((v) => v.uid === ours.metadata?.uid)?.id;
        if (!id && recordedId) this.o.events.event(clone, 'Warning', 'DiscardSkipped', `provider VM ${recordedId} does not carry the uid of VirtualMachine "${name}"; it is left on the provider`);
        if (id) {
          try {
            await provider.delete(id, call);
          } catch (e) {
            if (!isProviderError(e, 'NotFound')) throw e;
          }
        }
      }
    }
    try {
      await this.o.client.delete(Kinds.VirtualMachine, ns, name, { preconditions: { uid: ours.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.o.events.event(clone, 'Normal', 'Discarded', `removed VirtualMachine "${name}" made by this unfinished clone`);
  }

  /** Deleting a VMClone: a finished one leaves its VM; one in progress removes what it made, never the source. */
  private async finalize(clone: VMClone, call: CallOptions): Promise<void> {
    if (!hasFinalizer(clone, CLONE_FINALIZER)) return;
    const phase = clone.status?.phase;
    if (phase !== 'Ready' && phase !== 'Failed' && clone.status?.targetRef) {
      try {
        await this.discardMade(clone, clone.status?.targetVMID, call);
      } catch (err) {
        this.o.events.event(clone, 'Warning', 'DiscardFailed', (err as Error).message);
        throw err;
      }
    }
    await removeFinalizer(this.o.client, Kinds.VMClone, clone, CLONE_FINALIZER);
  }

  /** Condition and status messages redacted with the scope of the clone's Provider, like the Events. */
  private write(clone: VMClone, draft: Draft, opts: { unlessStale?: boolean } = {}): Promise<boolean> {
    return writeStatus(this.o.client, Kinds.VMClone, clone, draft, { redact: (m) => this.o.events.redact(clone, m), ...opts });
  }
}
