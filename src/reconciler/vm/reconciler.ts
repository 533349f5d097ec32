/**
 * The VirtualMachine reconcile function: level-based and idempotent. Each
 * call looks at the VM as it is now, takes at most one step towards the
 * spec (create, wait for a task, reconfigure, revert, power), records what
 * it did in status before waiting on anything, and returns when to look
 * again. The order of the steps and the reasons are documented in
 * docs/reconciler.md.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import { isProviderError, type Provider, type TaskRef } from '../../providers/provider';
import { Kinds, refKey } from '../kinds';
import { InProcessRefused } from '../config/in-process';
import { ProviderUnavailable } from '../provider-connections';
import { addFinalizer, hasFinalizer, type Result } from '../runtime';
import { createRequest, desiredResources, vmPayload } from './payload';
import { IGNITION_TYPES, unsupportedFields } from './unsupported';
import { readCloudInit, resolveDependencies, SecretNotFound, type Dependencies } from './resolve';
import { StatusDraft, stringifyProviderRaw } from './status-draft';
import { durationMs } from '../duration';
import { runHook } from './hooks';
import { finalizeVM } from './finalize';
import { ANNOTATIONS, VM_FINALIZER, type VmReconcilerContext } from './context';
import { pollTask } from '../task';
import { pendingRestartOf } from './pending';
import { isForeign } from './identity';
import { imageGate } from '../vmimage/targets';
import { addressesForCreate, heldAddresses } from './addressing';

export class VmReconciler {
  /** Graceful shutdowns issued by this process: key → when (escalated to Off after the timeout). */
  private readonly gracefulSince = new Map<string, number>();
  /** Resources asked for by an outstanding reconfigure: key → desired. */
  private readonly pendingResources = new Map<string, { cpu: number; memoryMiB: number }>();

  /** VM uid → the resourceVersion whose pending postStart this reconciler ran: the cache may still show it before the clear arrives. */
  private readonly postStartRanAt = new Map<string, string>();

  constructor(private readonly ctx: VmReconcilerContext) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result | void> {
    const cached = this.ctx.vms.get(key);
    if (!cached) {
      this.gracefulSince.delete(key);
      this.pendingResources.delete(key);
      return;
    }
    let vm = structuredClone(cached);
    if (vm.metadata?.deletionTimestamp) return finalizeVM(this.ctx, vm, signal);
    if (!hasFinalizer(vm, VM_FINALIZER)) vm = await addFinalizer(this.ctx.client, Kinds.VirtualMachine, vm, VM_FINALIZER);

    const draft = new StatusDraft(vm);
    const ns = vm.metadata?.namespace ?? '';
    const providerRef = vm.spec?.providerRef;
    const providerType = providerRef ? this.ctx.lookups.provider(refKey(providerRef, ns))?.spec?.type ?? '' : '';
    const unsupported = unsupportedFields(vm, (name) => this.ctx.lookups.networkAttachment(`${ns}/${name}`)?.spec, providerType);
    if (unsupported.length) {
      if (draft.conditionChanges('Unsupported', true, 'FieldNotImplemented')) this.ctx.events.event(vm, 'Warning', 'FieldNotImplemented', unsupported.join('; '));
      draft.condition('Unsupported', true, 'FieldNotImplemented', unsupported.join('; '));
    } else if (draft.getCondition('Unsupported')) {
      draft.condition('Unsupported', false, 'AllFieldsSupported', 'every field set is applied');
    }
    const resolution = resolveDependencies(vm, this.ctx.lookups);
    if (!resolution.ok) {
      const refused = resolution.notPermitted.length > 0;
      const reason = refused ? 'ReferenceNotPermitted' : 'WaitingForDependencies';
      const message = [...resolution.notPermitted, ...(resolution.missing.length ? [`waiting for ${resolution.missing.join(', ')}`] : [])].join('; ');
      if (draft.conditionChanges('Ready', false, reason)) this.ctx.events.event(vm, 'Warning', reason, message);
      if (!draft.id) draft.status.phase = 'Pending';
      draft.condition('Ready', false, reason, message);
      await this.write(vm, draft);
      // Creating a missing object re-triggers this VM through the dependency watches; the timer is a fallback.
      return { requeueAfterMs: this.ctx.timing.dependencyRetryMs };
    }
    const deps = resolution.deps;
    let provider: Provider;
    try {
      provider = await this.ctx.connections.get(deps.provider);
    } catch (err) {
      return this.providerFailed(vm, draft, err, 'connecting to the provider');
    }
    try {
      return await this.converge(vm, draft, deps, provider, signal);
    } catch (err) {
      return this.providerFailed(vm, draft, err, 'reconciling');
    }
  }

  private async converge(vm: VirtualMachine, draft: StatusDraft, deps: Dependencies, provider: Provider, signal: AbortSignal): Promise<Result | void> {
    const { timing } = this.ctx;
    const key = `${vm.metadata?.namespace}/${vm.metadata?.name}`;
    const call = { signal, timeoutMs: timing.callTimeoutMs };
    if (!draft.id) return this.create(vm, draft, deps, provider, signal);

    // Outstanding tasks first: nothing else may start while one runs.
    if (draft.status.lastTaskRef) {
      const st = await pollTask(provider, draft.status.lastTaskRef, call);
      // lastTaskRef tracks create and power tasks; only a create is "Provisioning".
      if (!st.done) return this.waitForTask(vm, draft, draft.status.phase === 'Provisioning' ? 'Provisioning' : 'Ready', `task ${draft.status.lastTaskRef} in progress`);
      draft.status.lastTaskRef = undefined;
      if (st.error) {
        this.ctx.events.event(vm, 'Warning', 'TaskFailed', `provider task failed: ${st.error}`);
        draft.condition('Ready', false, 'ProviderError', `provider task failed: ${st.error}`);
        await this.write(vm, draft);
        return { requeue: true };
      }
    }
    if (draft.status.reconfigureTaskRef) {
      const st = await pollTask(provider, draft.status.reconfigureTaskRef, call);
      if (!st.done) return this.waitForTask(vm, draft, 'Reconfiguring', `reconfigure task ${draft.status.reconfigureTaskRef} in progress`);
      draft.status.reconfigureTaskRef = undefined;
      this.finishReconfigure(vm, draft, key, st.error);
    }

    const desc = await provider.describe(draft.id, call);
    if (!desc.exists) return this.vanished(vm, draft);
    // status.id names a hypervisor VM created for another object (e.g. a status written by hand): touch nothing.
    if (isForeign(desc.uid, vm)) return this.identityMismatch(vm, draft, desc.uid!);
    draft.status.powerState = desc.powerState === 'On' ? 'On' : 'Off';
    draft.status.ips = desc.ips.length ? [...desc.ips] : undefined;
    draft.status.consoleURL = desc.consoleURL || undefined;
    const raw = stringifyProviderRaw(desc.providerRaw);
    draft.status.provider = Object.keys(raw).length ? raw : undefined;
    draft.status.snapshots = this.ctx.lookups.snapshotsOf(vm);
    if (draft.status.phase === 'Provisioning' || draft.status.phase === 'Pending' || draft.status.phase === 'Failed') {
      draft.condition('Provisioning', false, 'ReconcileSuccess', `created on Provider ${deps.provider.metadata?.namespace}/${deps.provider.metadata?.name} as ${draft.id}`);
    }

    const reverted = await this.revertSnapshot(vm, draft, provider, signal);
    if (reverted) return reverted;

    // A VM that is to be off is powered off before a resize: many hypervisors only resize a stopped VM.
    if ((vm.spec?.powerState ?? 'On') !== 'On') {
      const stopping = await this.convergePower(vm, draft, provider, desc.ips, signal);
      if (stopping) return stopping;
    }

    // A change the hypervisor holds until the next restart is not done: say so until a restart applies it.
    const held = pendingRestartOf(desc.providerRaw);
    if (held) draft.condition('Reconfiguring', true, 'PendingRestart', `${held}; it applies at the next restart of the VM`);
    else if (draft.getCondition('Reconfiguring')?.reason === 'PendingRestart') draft.condition('Reconfiguring', false, 'ReconcileSuccess', 'the pending change was applied by the restart');
    let reconfigured = false;

    // Resize when the class or the per-VM resources changed (VM-8).
    const want = desiredResources(vm, deps.vmClass.spec!);
    const have = draft.status.currentResources;
    if (!have?.cpu || !have.memoryMiB) {
      draft.status.currentResources = { cpu: desc.cpu ?? want.cpu, memoryMiB: desc.memoryMiB ?? want.memoryMiB };
    } else if (have.cpu !== want.cpu || have.memoryMiB !== want.memoryMiB) {
      const addresses = await heldAddresses(this.ctx.ipam, vm, deps.attachments);
      const req = createRequest({ vm, classSpec: deps.vmClass.spec!, image: deps.image, attachments: deps.attachments, providerNamespace: deps.provider.metadata?.namespace, ...(addresses ? { addresses } : {}) });
      const task = await provider.reconfigure(draft.id, vmPayload(req), { signal, timeoutMs: timing.longCallTimeoutMs });
      const change = `cpu ${have.cpu} → ${want.cpu}, memory ${have.memoryMiB}Mi → ${want.memoryMiB}Mi`;
      this.ctx.events.event(vm, 'Normal', 'Reconfiguring', change);
      draft.status.phase = 'Reconfiguring';
      draft.status.lastReconfigureTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      draft.condition('Reconfiguring', true, 'Updating', change);
      this.pendingResources.set(key, want);
      if (task?.id) {
        draft.status.reconfigureTaskRef = task.id;
        return this.waitForTask(vm, draft, 'Reconfiguring', `reconfigure task ${task.id} in progress`);
      }
      this.finishReconfigure(vm, draft, key, undefined);
      reconfigured = true;
    }

    const powered = await this.convergePower(vm, draft, provider, desc.ips, signal);
    if (powered) return powered;

    const uid = vm.metadata?.uid ?? '';
    const rv = vm.metadata?.resourceVersion ?? '';
    const pending = vm.metadata?.annotations?.[ANNOTATIONS.postStartPending];
    if (!pending) this.postStartRanAt.delete(uid); // the clear reached the cache: nothing to remember
    if (pending && draft.status.powerState === 'On' && this.postStartRanAt.get(uid) !== rv) {
      this.postStartRanAt.set(uid, rv);
      const outcome = await runHook('postStart', vm, provider, desc.ips, signal, this.ctx.hookPolicy);
      if (outcome) this.ctx.events.event(vm, outcome.ok ? 'Normal' : 'Warning', outcome.ok ? 'PostStartHook' : 'PostStartHookFailed', outcome.detail);
      await this.ctx.setAnnotation(vm, ANNOTATIONS.postStartPending, undefined);
    }

    const phase = draft.status.powerState === 'On' ? 'Running' : 'Stopped';
    if (vm.status?.phase !== phase) this.ctx.events.event(vm, 'Normal', phase, `VM ${draft.id} is ${phase === 'Running' ? 'running' : 'stopped'}`);
    draft.status.phase = phase;
    draft.condition('Ready', true, 'ReconcileSuccess', `${phase}; power state ${draft.status.powerState}`);
    draft.status.observedGeneration = vm.metadata?.generation;
    await this.write(vm, draft);
    // Right after a reconfigure, look again soon: the provider may hold it until a restart (PendingRestart).
    return { requeueAfterMs: reconfigured ? timing.pollMs : timing.resyncMs };
  }

  /** Creates the VM, recording the intent and then the provider id before anything waits (no second VM after a crash). */
  private async create(vm: VirtualMachine, draft: StatusDraft, deps: Dependencies, provider: Provider, signal: AbortSignal): Promise<Result | void> {
    const spec = vm.spec!;
    if (vm.metadata?.labels?.[ANNOTATIONS.adopted] === 'true') {
      draft.condition('Provisioning', true, 'WaitingForDependencies', 'adopted VM: waiting for status.id to be set by the adoption');
      await this.write(vm, draft);
      return { requeueAfterMs: this.ctx.timing.dependencyRetryMs };
    }
    if (!spec.imageRef === !spec.importedDisk) {
      draft.status.phase = 'Failed';
      draft.condition('Provisioning', false, 'InvalidSpec', 'exactly one of spec.imageRef and spec.importedDisk must be set to create the VM');
      draft.condition('Ready', false, 'InvalidSpec', 'exactly one of spec.imageRef and spec.importedDisk must be set to create the VM');
      await this.write(vm, draft);
      return;
    }
    // The image is prepared by the VMImage controller, once per Provider: a new VM waits for it (not after its intent).
    const retry = vm.status?.phase === 'Provisioning';
    const gate = spec.imageRef && deps.image && !retry ? imageGate(deps.image, deps.provider) : undefined;
    if (gate && gate.state !== 'use') {
      const reason = gate.state === 'wait' ? 'WaitingForImage' : 'ImageNotReady';
      draft.status.phase = 'Pending';
      draft.condition('Provisioning', false, reason, gate.message);
      // Waiting is the normal first moments of an image (no Event); a failed image is a Warning.
      if (gate.state === 'failed') draft.report(this.ctx.events, 'Ready', false, reason, gate.message);
      else draft.condition('Ready', false, reason, gate.message);
      await this.write(vm, draft);
      // The VMImage's status changing wakes the VM (its watch); the requeue is only a safety net.
      return { requeueAfterMs: Math.min(this.ctx.timing.dependencyRetryMs, 5_000) };
    }
    // After a failed attempt, the cache may lag behind our own last write: confirm on the server that no id was
    // recorded. On a first attempt the intent write below does that check (it is refused on a stale view).
    const fresh = retry ? await this.ctx.client.get<VirtualMachine>(Kinds.VirtualMachine, vm.metadata?.namespace, vm.metadata!.name!) : vm;
    if (!fresh || fresh.metadata?.uid !== vm.metadata?.uid) return;
    if (fresh.status?.id) return { requeue: true };

    let cloudInit: { userData?: string; metaData?: string; userDataFormat?: 'ignition' };
    try {
      cloudInit = await readCloudInit(vm, this.ctx.secrets);
      // An Ignition config must never reach a provider as cloud-init: off the types that deliver it, none is sent (Unsupported says so).
      if (cloudInit.userDataFormat && !IGNITION_TYPES.includes(deps.provider.spec?.type ?? '')) cloudInit = cloudInit.metaData !== undefined ? { metaData: cloudInit.metaData } : {};
    } catch (err) {
      const message = `cannot build the create request: ${(err as Error).message}`;
      draft.condition('Provisioning', false, 'WaitingForDependencies', message);
      draft.condition('Ready', false, 'WaitingForDependencies', message);
      await this.write(vm, draft);
      return { requeueAfterMs: err instanceof SecretNotFound ? this.ctx.timing.dependencyRetryMs : this.ctx.timing.errorRetryMs };
    }
    // Addresses are claimed (a Lease each) before anything is created with them; a VM deleted meanwhile releases them.
    const claim = await addressesForCreate(this.ctx, vm, deps.attachments, signal);
    if ('refused' in claim) {
      draft.status.phase = 'Pending';
      draft.condition('Provisioning', false, claim.refused.reason, claim.refused.message);
      draft.report(this.ctx.events, 'Ready', false, claim.refused.reason, claim.refused.message);
      await this.write(vm, draft);
      return { requeueAfterMs: claim.refused.retryMs };
    }
    const { addresses } = claim;
    const prepared = gate?.state === 'use' ? gate.prepared : undefined;
    const req = createRequest({
      vm, classSpec: deps.vmClass.spec!, image: deps.image, attachments: deps.attachments, providerNamespace: deps.provider.metadata?.namespace,
      prepared, providerType: deps.provider.spec?.type, ...cloudInit, ...(addresses ? { addresses } : {}),
    });
    const provKey = `${deps.provider.metadata?.namespace}/${deps.provider.metadata?.name}`;

    // An earlier attempt recorded its intent but no id: it may have created the VM before dying. Look before creating.
    let id: string | undefined;
    let task: TaskRef | undefined;
    if (fresh.status?.phase === 'Provisioning') {
      // Found by uid, never by name: a VM of the same name may belong to another object.
      const listed = await provider.listVMs({ signal, timeoutMs: this.ctx.timing.longCallTimeoutMs });
      const existing = listed.find((v) => v.uid !== undefined && v.uid === vm.metadata?.uid);
      if (existing) {
        id = existing.id;
        this.ctx.events.event(vm, 'Normal', 'Recovered', `found VM ${id} (uid ${existing.uid}) created by an earlier attempt; not creating another`);
      } else {
        const clash = listed.find((v) => v.name === req.name);
        if (clash) return this.nameConflict(vm, draft, req.name, clash.id, clash.uid);
      }
    }
    if (!id) {
      // The intent is written once; a retry after a failed Create keeps the error condition (no write, no event).
      if (fresh.status?.phase !== 'Provisioning') {
        draft.status.phase = 'Provisioning';
        draft.condition('Provisioning', true, 'Creating', `creating on Provider ${provKey}`);
        draft.condition('Ready', false, 'Creating', `creating on Provider ${provKey}`);
        // Refused when the stored status moved on (e.g. an id we wrote that the cache has not seen yet).
        if (!(await this.write(vm, draft))) return { requeue: true };
      }
      const res = await provider.create(req, { signal, timeoutMs: this.ctx.timing.longCallTimeoutMs });
      id = res.id;
      task = res.task;
      this.ctx.events.event(vm, 'Normal', 'Created', `created VM ${id} on Provider ${provKey}`);
    }
    draft.status.id = id;
    draft.status.phase = 'Provisioning';
    draft.status.lastTaskRef = task?.id || undefined;
    draft.status.currentResources = desiredResources(vm, deps.vmClass.spec!);
    draft.condition('Provisioning', true, task?.id ? 'TaskInProgress' : 'Creating', task?.id ? `create task ${task.id} in progress` : `created as ${id}`);
    await this.ctx.writeStatus(vm, draft, { force: true });
    if (vm.spec?.lifecycle?.postStart) await this.ctx.setAnnotation(vm, ANNOTATIONS.postStartPending, 'true');
    if (task?.id) return { requeueAfterMs: this.ctx.timing.pollMs };
    // Created synchronously: go on converging now rather than queueing behind every other VM's first reconcile.
    return this.converge(vm, draft, deps, provider, signal);
  }

  /** Converges power; returns a result when it issued an operation and must look again later. */
  private async convergePower(vm: VirtualMachine, draft: StatusDraft, provider: Provider, ips: readonly string[], signal: AbortSignal): Promise<Result | undefined> {
    const key = `${vm.metadata?.namespace}/${vm.metadata?.name}`;
    const desired = vm.spec?.powerState ?? 'On';
    const observed = draft.status.powerState;
    const id = draft.id!;
    const call = { signal, timeoutMs: this.ctx.timing.callTimeoutMs };
    if (desired === 'On' && observed !== 'On') {
      this.gracefulSince.delete(key);
      const task = await provider.power(id, 'On', 0, call);
      this.ctx.events.event(vm, 'Normal', 'PowerOn', `powering on VM ${id}`);
      if (vm.spec?.lifecycle?.postStart) await this.ctx.setAnnotation(vm, ANNOTATIONS.postStartPending, 'true');
      return this.afterPowerOp(vm, draft, task);
    }
    if (desired === 'On' || observed !== 'On') {
      this.gracefulSince.delete(key);
      return undefined;
    }
    // Desired Off or OffGraceful while On. preStop runs once per shutdown this process starts.
    const since = this.gracefulSince.get(key);
    if (desired === 'OffGraceful') {
      const timeoutMs = durationMs(vm.spec?.lifecycle?.gracefulShutdownTimeout, 60_000);
      if (since === undefined) {
        await this.preStop(vm, provider, ips, signal);
        this.gracefulSince.set(key, Date.now());
        const task = await provider.power(id, 'ShutdownGraceful', Math.ceil(timeoutMs / 1000), call);
        this.ctx.events.event(vm, 'Normal', 'ShutdownGraceful', `shutting down VM ${id} gracefully (timeout ${Math.ceil(timeoutMs / 1000)}s)`);
        return this.afterPowerOp(vm, draft, task, Math.min(timeoutMs, this.ctx.timing.pollMs));
      }
      if (Date.now() - since < timeoutMs) return this.waitForTask(vm, draft, 'Ready', `waiting for the guest to shut down (up to ${Math.ceil(timeoutMs / 1000)}s)`);
      this.ctx.events.event(vm, 'Warning', 'GracefulShutdownTimedOut', `VM ${id} still on after ${Math.ceil(timeoutMs / 1000)}s; powering off`);
    } else {
      await this.preStop(vm, provider, ips, signal);
    }
    this.gracefulSince.delete(key);
    const task = await provider.power(id, 'Off', 0, call);
    this.ctx.events.event(vm, 'Normal', 'PowerOff', `powering off VM ${id}`);
    return this.afterPowerOp(vm, draft, task);
  }

  private async preStop(vm: VirtualMachine, provider: Provider, ips: readonly string[], signal: AbortSignal): Promise<void> {
    const outcome = await runHook('preStop', vm, provider, ips, signal, this.ctx.hookPolicy);
    if (outcome) this.ctx.events.event(vm, outcome.ok ? 'Normal' : 'Warning', outcome.ok ? 'PreStopHook' : 'PreStopHookFailed', outcome.detail);
  }

  private async afterPowerOp(vm: VirtualMachine, draft: StatusDraft, task: TaskRef | undefined, pollMs = this.ctx.timing.pollMs): Promise<Result> {
    if (task?.id) draft.status.lastTaskRef = task.id;
    draft.condition('Ready', false, 'TaskInProgress', `power state ${draft.status.powerState}, converging to ${vm.spec?.powerState ?? 'On'}`);
    await this.write(vm, draft);
    return { requeueAfterMs: pollMs };
  }

  /** Reverts to `spec.snapshot.revertToRef` once per VMSnapshot (remembered by uid in an annotation). */
  private async revertSnapshot(vm: VirtualMachine, draft: StatusDraft, provider: Provider, signal: AbortSignal): Promise<Result | undefined> {
    const ref = vm.spec?.snapshot?.revertToRef?.name;
    const done = vm.metadata?.annotations?.[ANNOTATIONS.revertedSnapshot];
    if (!ref) {
      if (done) await this.ctx.setAnnotation(vm, ANNOTATIONS.revertedSnapshot, undefined);
      return undefined;
    }
    const snap = this.ctx.lookups.snapshot(`${vm.metadata?.namespace}/${ref}`);
    if (snap && done === snap.metadata?.uid) return undefined;
    if (!snap?.status?.snapshotID) {
      draft.condition('Ready', false, 'WaitingForDependencies', `waiting for VMSnapshot "${vm.metadata?.namespace}/${ref}" to be ready before reverting`);
      await this.write(vm, draft);
      return { requeueAfterMs: this.ctx.timing.dependencyRetryMs };
    }
    const task = await provider.snapshotRevert(draft.id!, snap.status.snapshotID, { signal, timeoutMs: this.ctx.timing.longCallTimeoutMs });
    await this.ctx.setAnnotation(vm, ANNOTATIONS.revertedSnapshot, snap.metadata!.uid!);
    this.ctx.events.event(vm, 'Normal', 'SnapshotReverted', `reverted VM ${draft.id} to VMSnapshot "${ref}" (${snap.status.snapshotID})`);
    // The revert may have changed CPU, memory and power: observe them again before converging.
    draft.status.currentResources = undefined;
    if (task?.id) draft.status.lastTaskRef = task.id;
    draft.condition('Ready', false, 'TaskInProgress', `reverting to VMSnapshot "${ref}"`);
    await this.write(vm, draft);
    return { requeueAfterMs: this.ctx.timing.pollMs };
  }

  private finishReconfigure(vm: VirtualMachine, draft: StatusDraft, key: string, error: string | undefined): void {
    const want = this.pendingResources.get(key) ?? desiredResources(vm, this.ctx.lookups.vmClassOf(vm)!.spec!);
    this.pendingResources.delete(key);
    if (error) {
      draft.condition('Reconfiguring', false, 'ProviderError', `reconfigure failed: ${error}`);
      this.ctx.events.event(vm, 'Warning', 'ReconfigureFailed', error);
      return;
    }
    draft.status.currentResources = { cpu: want.cpu, memoryMiB: want.memoryMiB };
    draft.condition('Reconfiguring', false, 'ReconcileSuccess', `cpu ${want.cpu}, memory ${want.memoryMiB}Mi`);
    this.ctx.events.event(vm, 'Normal', 'Reconfigured', `cpu ${want.cpu}, memory ${want.memoryMiB}Mi`);
  }

  /** The provider no longer knows the VM's id: report it; recreate only when asked to (annotation). */
  private async vanished(vm: VirtualMachine, draft: StatusDraft): Promise<Result | void> {
    const id = draft.id!;
    if (vm.metadata?.annotations?.[ANNOTATIONS.recreate] === 'true') {
      this.ctx.events.event(vm, 'Normal', 'Recreating', `VM ${id} is gone from the provider; creating it again as annotated`);
      draft.status = { conditions: draft.status.conditions, phase: 'Pending' };
      draft.condition('Ready', false, 'Recreating', `VM ${id} is gone from the provider; creating it again`);
      await this.write(vm, draft);
      await this.ctx.setAnnotation(vm, ANNOTATIONS.recreate, undefined);
      return { requeue: true };
    }
    const message = `VM ${id} no longer exists on the provider; set annotation ${ANNOTATIONS.recreate}="true" to create it again`;
    if (draft.conditionChanges('Ready', false, 'VMMissingOnProvider')) this.ctx.events.event(vm, 'Warning', 'VMMissingOnProvider', message);
    draft.status.phase = 'Failed';
    draft.condition('Ready', false, 'VMMissingOnProvider', message);
    await this.write(vm, draft);
    return { requeueAfterMs: this.ctx.timing.resyncMs };
  }

  private async waitForTask(vm: VirtualMachine, draft: StatusDraft, type: 'Provisioning' | 'Reconfiguring' | 'Ready', message: string): Promise<Result> {
    if (type !== 'Ready') draft.condition(type, true, 'TaskInProgress', message);
    draft.condition('Ready', false, 'TaskInProgress', message);
    await this.write(vm, draft);
    return { requeueAfterMs: this.ctx.timing.pollMs };
  }

  /** A provider or connection error: a condition, a Warning event on the first occurrence, and back-off. */
  private async providerFailed(vm: VirtualMachine, draft: StatusDraft, err: unknown, doing: string): Promise<Result> {
    const reason = err instanceof InProcessRefused || err instanceof ProviderUnavailable ? err.reason : 'ProviderError';
    const category = isProviderError(err) ? ` (${err.category})` : '';
    const message = `${doing}: ${(err as Error).message}${category}`;
    if (draft.conditionChanges('Ready', false, reason)) this.ctx.events.event(vm, 'Warning', reason, message);
    draft.condition('Ready', false, reason, message);
    if (isProviderError(err, 'InvalidSpec') && !draft.id) draft.condition('Provisioning', false, 'ProviderError', message);
    this.ctx.log.info('VirtualMachine not converged', { vm: `${vm.metadata?.namespace}/${vm.metadata?.name}`, reason, error: message });
    await this.write(vm, draft).catch((e: unknown) => this.ctx.log.error('status write failed', { error: (e as Error).message }));
    return { requeue: true };
  }

  /** The provider VM in status.id carries another object's uid. Nothing is done to it, now or at deletion. */
  private async identityMismatch(vm: VirtualMachine, draft: StatusDraft, uid: string): Promise<Result> {
    const message = `VM ${draft.id} on the provider belongs to another VirtualMachine (uid ${uid}, this one is ${vm.metadata?.uid}); it is not managed through this object`;
    if (draft.conditionChanges('Ready', false, 'IdentityMismatch')) this.ctx.events.event(vm, 'Warning', 'IdentityMismatch', message);
    draft.status.phase = 'Failed';
    draft.condition('Ready', false, 'IdentityMismatch', message);
    await this.write(vm, draft);
    return { requeueAfterMs: this.ctx.timing.resyncMs };
  }

  /** A VM with our provider-side name exists but is not ours: creating would fail or, worse, adopt it. */
  private async nameConflict(vm: VirtualMachine, draft: StatusDraft, name: string, id: string, uid: string | undefined): Promise<Result> {
    const message = `a VM named "${name}" (${id}) already exists on the provider and was not created for this object (${uid ? `uid ${uid}` : 'no uid'}); rename this VirtualMachine or remove that VM from the hypervisor`;
    if (draft.conditionChanges('Ready', false, 'NameConflict')) this.ctx.events.event(vm, 'Warning', 'NameConflict', message);
    draft.condition('Provisioning', false, 'NameConflict', message);
    draft.condition('Ready', false, 'NameConflict', message);
    await this.write(vm, draft);
    return { requeueAfterMs: this.ctx.timing.dependencyRetryMs };
  }

  private write(vm: VirtualMachine, draft: StatusDraft): Promise<boolean> {
    return this.ctx.writeStatus(vm, draft);
  }
}
