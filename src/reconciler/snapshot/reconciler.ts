/**
 * The VMSnapshot reconcile function: takes the snapshot on the VM's
 * provider, follows its task to Ready, and deletes it from the provider
 * through a finalizer (SN-1, SN-2, SN-3, SN-6).
 *
 * No second snapshot: like the VM create, the intent (phase Creating) is
 * written before SnapshotCreate, refused when our view of the status is
 * stale; a reconcile that finds an intent without a snapshot id looks for
 * the snapshot on the provider (by the uid token of its name hint) before
 * taking one. Condition and Event messages are redacted with the scope of
 * the VM's Provider.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { Provider as ProviderObject } from '../../generated/provider';
import type { VMSnapshot, VMSnapshotStatus } from '../../generated/vm-snapshot';
import { isProviderError, type CallOptions, type Provider } from '../../providers/provider';
import type { ControllerDeps } from '../deps';
import { Kinds } from '../kinds';
import { providerKey } from '../provider-connections';
import { addFinalizer, hasFinalizer, isNotFound, removeFinalizer, rfc3339, StatusDraft, writeStatus, type Result } from '../runtime';
import { pollTask } from '../task';
import { checkedVmId, IdentityMismatch } from '../vm/identity';
import { providerOf } from '../vm/resolve';
import { findUnrecordedSnapshot, snapshotNameHint } from './naming';
import { retention } from './retention';
import { finalizeSchedule, isSchedule, reconcileSchedule } from './schedule';

export const SNAPSHOT_FINALIZER = 'snapshot.infra.virtrigaud.io/finalizer';

type Draft = StatusDraft<VMSnapshotStatus>;

export class SnapshotReconciler {
  private readonly pollMs: number;

  constructor(private readonly o: ControllerDeps & { readonly pollMs?: number }) {
    this.pollMs = o.pollMs ?? 2_000;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Result | void> {
    const i = this.o.informers;
    const cached = i.snapshots.get(key);
    if (!cached) return;
    let snap = structuredClone(cached);
    const ns = snap.metadata!.namespace!;
    const vm = i.vms.get(`${ns}/${snap.spec?.vmRef?.name}`);
    // Only a Provider that allows the VM's namespace (the VM reconciler's rule) is ever called for its snapshots.
    const found = vm ? providerOf(vm, { provider: (k) => i.providers.get(k), namespaceLabels: (n) => i.namespaces?.get(n)?.metadata?.labels }) : undefined;
    const providerObj = found && 'provider' in found ? found.provider : undefined;
    const call: CallOptions = { signal, timeoutMs: 300_000 };

    if (snap.metadata?.deletionTimestamp) {
      if (!isSchedule(snap)) return this.finalize(snap, vm, providerObj, call);
      if (!(await finalizeSchedule(this.o, snap))) return { requeueAfterMs: 2_000 };
      await removeFinalizer(this.o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
      return;
    }
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) snap = await addFinalizer(this.o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
    const draft = new StatusDraft<VMSnapshotStatus>(snap);
    if (isSchedule(snap)) return reconcileSchedule(this.o, snap, draft, () => this.write(snap, draft));
    if (draft.status.phase === 'Ready' || draft.status.phase === 'Expired') return this.retain(snap, draft, vm);
    if (draft.status.phase === 'Failed') return;
    const waiting = (reason: string, message: string) => {
      draft.condition('Ready', false, reason, message);
      draft.status.phase = draft.status.phase === 'Creating' ? 'Creating' : 'Pending';
      return this.write(snap, draft).then(() => ({ requeueAfterMs: 30_000 }));
    };
    if (!vm) return waiting('WaitingForDependencies', `VirtualMachine "${ns}/${snap.spec?.vmRef?.name}" not found`);
    if (!providerObj) {
      const refused = found && 'reason' in found && found.reason === 'ReferenceNotPermitted';
      return waiting(refused ? 'ReferenceNotPermitted' : 'WaitingForDependencies', found && 'message' in found ? found.message : "the VM's Provider was not found");
    }
    if (!vm.status?.id) return waiting('WaitingForDependencies', `VirtualMachine "${ns}/${vm.metadata?.name}" is not created on the provider yet`);
    try {
      return await this.converge(snap, draft, vm as VirtualMachine & { status: { id: string } }, providerObj, call);
    } catch (err) {
      const reason = err instanceof IdentityMismatch ? err.reason : 'ProviderError';
      draft.report(this.o.events, 'Ready', false, reason, (err as Error).message);
      await this.write(snap, draft);
      return err instanceof IdentityMismatch ? { requeueAfterMs: 60_000 } : { requeue: true };
    }
  }

  private async converge(snap: VMSnapshot, draft: Draft, vm: VirtualMachine & { status: { id: string } }, providerObj: ProviderObject, call: CallOptions): Promise<Result | void> {
    const events = this.o.events;
    const provider = await this.o.connections.get(providerObj);
    const vmId = vm.status.id;
    const status = draft.status;
    if (!status.snapshotID) {
      await checkedVmId(provider, vm, call);
      const hint = snapshotNameHint(snap);
      let id: string | undefined;
      let task: string | undefined;
      if (status.phase === 'Creating') {
        // An earlier attempt recorded its intent but no id: it may have taken the snapshot and then died or lost
        // the answer. The cache may also lag behind our own last write: confirm on the server, then look.
        const fresh = await this.o.client.get<VMSnapshot>(Kinds.VMSnapshot, snap.metadata!.namespace!, snap.metadata!.name!);
        if (!fresh || fresh.metadata?.uid !== snap.metadata?.uid) return;
        if (fresh.status?.snapshotID || fresh.status?.phase !== 'Creating') return { requeueAfterMs: this.pollMs };
        id = await findUnrecordedSnapshot(provider, vmId, snap, this.claimedBySiblings(snap), call);
        if (id) events.event(snap, 'Normal', 'Recovered', `found snapshot ${id} of VM ${vmId} taken by an earlier attempt; not taking another`);
      } else {
        // The intent first, so that a crash after SnapshotCreate is followed by a look on the provider, not a second snapshot.
        status.phase = 'Creating';
        status.creationTime ??= rfc3339();
        draft.condition('Ready', false, 'Creating', `taking snapshot "${hint}" of VM ${vmId} on Provider ${providerKey(providerObj)}`);
        // Refused when the stored status moved on (e.g. an id we wrote that the cache has not seen yet).
        if (!(await this.write(snap, draft, { unlessStale: true }))) return { requeue: true };
      }
      if (!id) {
        const cfg = snap.spec?.snapshotConfig;
        const res = await provider.snapshotCreate({ vmId, nameHint: hint, includeMemory: cfg?.includeMemory ?? false, description: cfg?.description ?? '' }, call);
        id = res.snapshotId;
        task = res.task?.id || undefined;
        events.event(snap, 'Normal', 'Creating', `snapshot ${id} of VM ${vmId} requested`);
      }
      status.snapshotID = id;
      status.taskRef = task;
      status.phase = 'Creating';
      draft.condition('Ready', false, 'Creating', task ? `snapshot ${id} of VM ${vmId}: task ${task} in progress` : `snapshot ${id} of VM ${vmId} taken`);
      // The id is written whatever else changed meanwhile: dropping it would leave an orphan on the provider.
      await this.write(snap, draft);
    }
    if (status.taskRef) {
      const st = await pollTask(provider, status.taskRef, call);
      if (!st.done) {
        await this.write(snap, draft);
        return { requeueAfterMs: this.pollMs };
      }
      status.taskRef = undefined;
      if (st.error) {
        status.phase = 'Failed';
        status.message = st.error;
        draft.condition('Ready', false, 'ProviderError', st.error);
        events.event(snap, 'Warning', 'Failed', st.error);
        await this.write(snap, draft);
        return;
      }
    }
    const now = rfc3339();
    status.phase = 'Ready';
    status.creationTime ??= now;
    status.completionTime = now;
    status.parent = { name: vm.metadata!.name!, ...(vm.metadata?.uid ? { uid: vm.metadata.uid } : {}) };
    draft.condition('Ready', true, 'Ready', `snapshot ${status.snapshotID} of VM ${vmId} is ready`);
    draft.condition('VMAvailable', true, 'VMExists', `VirtualMachine "${vm.metadata!.name}" exists`);
    events.event(snap, 'Normal', 'Ready', `snapshot ${status.snapshotID} is ready`);
    await this.write(snap, draft);
    // With a retention policy, the expiry is planned (and shown) right away.
    if (snap.spec?.retentionPolicy?.maxAge || snap.spec?.retentionPolicy?.maxCount) return this.retain(snap, draft, vm);
  }

  /** A Ready snapshot: kept, or expired and deleted, as `spec.retentionPolicy` says (./retention.ts). */
  private async retain(snap: VMSnapshot, draft: Draft, vm: VirtualMachine | undefined): Promise<Result | void> {
    const ns = snap.metadata!.namespace!;
    const vmName = snap.spec?.vmRef?.name ?? '';
    const parentUid = snap.status?.parent?.uid;
    let gone = !!parentUid && (!vm || vm.metadata?.uid !== parentUid);
    // The cache may lag behind a VM just created again: only the server says it is gone (once; a uid never comes back).
    if (gone && draft.getCondition('VMAvailable')?.status !== 'False') {
      const fresh = await this.o.client.get<VirtualMachine>(Kinds.VirtualMachine, ns, vmName);
      gone = !fresh || fresh.metadata?.uid !== parentUid;
    }
    if (gone) draft.condition('VMAvailable', false, 'VMDeleted', `VirtualMachine "${vmName}" (uid ${parentUid}) no longer exists`);
    else if (parentUid) draft.condition('VMAvailable', true, 'VMExists', `VirtualMachine "${vmName}" exists`);
    const since = gone ? Date.parse(draft.getCondition('VMAvailable')?.lastTransitionTime ?? '') : undefined;
    const mine = snap.status?.creationTime ?? '';
    const newerReady = this.o.informers.snapshots
      .byIndex('vm', `${ns}/${vmName}`)
      .filter((s) => s.metadata?.uid !== snap.metadata?.uid && s.status?.phase === 'Ready' && s.status.parent?.uid === parentUid && (s.status.creationTime ?? '') > mine).length;
    const now = Date.now();
    const d = retention({ snap, now, vmGoneSince: since !== undefined && !Number.isNaN(since) ? since : undefined, newerReady });
    draft.status.expiryTime = d.at !== undefined ? rfc3339(new Date(d.at)) : undefined;
    if (d.at === undefined || d.at > now) {
      await this.write(snap, draft);
      // Wake up at the expiry (in steps of at most an hour: a long sleep should not outlive a change of policy by much).
      return d.at !== undefined ? { requeueAfterMs: Math.min(Math.max(d.at - now, 100), 3_600_000) } : undefined;
    }
    if (draft.status.phase !== 'Expired') this.o.events.event(snap, 'Normal', 'Expired', `snapshot ${draft.status.snapshotID ?? ''} expired: ${d.why}; deleting it`);
    draft.status.phase = 'Expired';
    draft.condition('Ready', false, 'Expired', `expired: ${d.why}`);
    await this.write(snap, draft);
    try {
      await this.o.client.delete(Kinds.VMSnapshot, ns, snap.metadata!.name!, { preconditions: { uid: snap.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** SN-6: the provider's snapshot is deleted when it can be; a failed delete is reported but does not keep the object. */
  private async finalize(snap: VMSnapshot, vm: VirtualMachine | undefined, providerObj: ProviderObject | undefined, call: CallOptions): Promise<void> {
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) return;
    const status = snap.status ?? {};
    if (vm?.status?.id && providerObj && (status.snapshotID || status.phase === 'Creating')) {
      try {
        const provider: Provider = await this.o.connections.get(providerObj);
        await checkedVmId(provider, vm, call);
        // An intent without an id: a snapshot taken by an attempt that died before recording it is deleted too.
        const id = status.snapshotID || (await findUnrecordedSnapshot(provider, vm.status.id, snap, this.claimedBySiblings(snap), call));
        if (id) {
          await provider.snapshotDelete(vm.status.id, id, call);
          this.o.events.event(snap, 'Normal', 'Deleted', `deleted snapshot ${id} of VM ${vm.status.id}`);
        }
      } catch (err) {
        if (!isProviderError(err, 'NotFound')) this.o.events.event(snap, 'Warning', err instanceof IdentityMismatch ? err.reason : 'DeleteFailed', (err as Error).message);
      }
    }
    await removeFinalizer(this.o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
  }

  /** Snapshot ids recorded by the other VMSnapshots of the same VM. */
  private claimedBySiblings(snap: VMSnapshot): Set<string> {
    return new Set(
      this.o.informers.snapshots
        .byIndex('vm', `${snap.metadata?.namespace}/${snap.spec?.vmRef?.name}`)
        .filter((s) => s.metadata?.uid !== snap.metadata?.uid && s.status?.snapshotID)
        .map((s) => s.status!.snapshotID!),
    );
  }

  /** Condition and status messages redacted with the scope of the VM's Provider, like the Events. */
  private write(snap: VMSnapshot, draft: Draft, opts: { unlessStale?: boolean } = {}): Promise<boolean> {
    return writeStatus(this.o.client, Kinds.VMSnapshot, snap, draft, { redact: (m) => this.o.events.redact(snap, m), ...opts });
  }
}
