/**
 * The VMSnapshot controller: takes the snapshot on the VM's provider,
 * follows its task to Ready, and deletes it from the provider through a
 * finalizer (SN-1, SN-2, SN-3, SN-6). Retention and schedules are not
 * implemented (they are inert upstream too, apart from maxAge).
 *
 * No second snapshot: like the VM create, the intent (phase Creating) is
 * written before SnapshotCreate, refused when our view of the status is
 * stale; a reconcile that finds an intent without a snapshot id looks for
 * the snapshot on the provider (by the uid token of its name hint) before
 * taking one. Condition and Event messages are redacted with the scope of
 * the VM's Provider.
 */
import { isDeepStrictEqual } from 'node:util';
import type { VMSnapshot, VMSnapshotStatus } from '../../generated/vm-snapshot';
import { isProviderError, type CallOptions, type Provider } from '../../providers/provider';
import type { OperatorInformers } from '../informers';
import { Kinds } from '../kinds';
import { providerKey, type ProviderConnections } from '../provider-connections';
import { addFinalizer, Controller, getCondition, hasFinalizer, objectKey, removeFinalizer, rfc3339, setCondition, updateStatus, type Condition, type EventRecorder, type KubeClient, type Logger, type Metrics, type Result } from '../runtime';
import { pollTask } from '../task';
import { checkedVmId, IdentityMismatch } from '../vm/identity';
import { providerOf } from '../vm/resolve';

export const SNAPSHOT_FINALIZER = 'snapshot.infra.virtrigaud.io/finalizer';

export interface SnapshotControllerOptions {
  readonly client: KubeClient;
  readonly informers: OperatorInformers;
  readonly connections: ProviderConnections;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly pollMs?: number;
}

/** The part of a VMSnapshot's uid its provider-side name carries (lowercase hex). */
export function uidToken(uid: string | undefined): string {
  return (uid ?? '').replace(/[^0-9a-fA-F]/g, '').slice(0, 10).toLowerCase();
}

/**
 * The name hint of SnapshotCreate: the requested name (or the VMSnapshot's)
 * and a token of the VMSnapshot's uid, so that the snapshot is recognised
 * on the provider after a crash, and two VMSnapshots never share a hint.
 * At most 39 characters: the qemu provider keeps 40 of a hint.
 */
export function snapshotNameHint(snap: VMSnapshot): string {
  const base = (snap.spec?.snapshotConfig?.name || snap.metadata?.name || 'snapshot').slice(0, 28).replace(/[-_.]+$/, '');
  const token = uidToken(snap.metadata?.uid);
  return token ? `${base}-${token}` : base;
}

/**
 * The id of a snapshot an earlier attempt took for `snap` and never
 * recorded: one of the VM's snapshots whose id carries the uid token of the
 * name hint (providers derive snapshot ids from the hint) and that no other
 * VMSnapshot claims. Undefined when there is none, or when the provider
 * cannot list the VM's snapshots (GetDiskInfo unimplemented, no disk).
 */
export async function findUnrecordedSnapshot(provider: Provider, vmId: string, snap: VMSnapshot, claimed: ReadonlySet<string>, call: CallOptions): Promise<string | undefined> {
  const token = uidToken(snap.metadata?.uid);
  if (!token) return undefined;
  let ids: readonly string[];
  try {
    ids = (await provider.getDiskInfo(vmId, '', '', call)).snapshots;
  } catch (err) {
    if (isProviderError(err, 'Unimplemented') || isProviderError(err, 'NotFound')) return undefined;
    throw err;
  }
  return ids.find((id) => id.toLowerCase().includes(token) && !claimed.has(id));
}

export function createSnapshotController(o: SnapshotControllerOptions): Controller {
  const i = o.informers;
  const pollMs = o.pollMs ?? 2_000;
  /** Snapshot ids recorded by the other VMSnapshots of the same VM. */
  const claimedBySiblings = (snap: VMSnapshot): Set<string> =>
    new Set(
      i.snapshots
        .byIndex('vm', `${snap.metadata?.namespace}/${snap.spec?.vmRef?.name}`)
        .filter((s) => s.metadata?.uid !== snap.metadata?.uid && s.status?.snapshotID)
        .map((s) => s.status!.snapshotID!),
    );
  const reconcile = async (key: string, signal: AbortSignal): Promise<Result | void> => {
    const cached = i.snapshots.get(key);
    if (!cached) return;
    let snap = structuredClone(cached);
    // What this reconcile decides from: a write of the intent is refused when the stored status is no longer this.
    const base: VMSnapshotStatus = structuredClone(cached.status ?? {});
    const ns = snap.metadata!.namespace!;
    const vm = i.vms.get(`${ns}/${snap.spec?.vmRef?.name}`);
    // Only a Provider that allows the VM's namespace (the VM reconciler's rule) is ever called for its snapshots.
    const found = vm ? providerOf(vm, { provider: (k) => i.providers.get(k), namespaceLabels: (n) => i.namespaces?.get(n)?.metadata?.labels }) : undefined;
    const providerObj = found && 'provider' in found ? found.provider : undefined;
    const status: VMSnapshotStatus = structuredClone(snap.status ?? {});
    const cond = (ok: boolean, reason: string, raw: string) => {
      // Provider errors may quote credentials: redacted with the scope of the VM's Provider, like the Events.
      const message = o.events.redact(snap, raw);
      status.conditions = setCondition(status.conditions as Condition[] | undefined, { type: 'Ready', status: ok ? 'True' : 'False', reason, message, observedGeneration: snap.metadata?.generation });
    };
    const write = async () => {
      if (isDeepStrictEqual(status, snap.status ?? {})) return;
      snap = await updateStatus<VMSnapshot>(o.client, Kinds.VMSnapshot, snap, (fresh) => {
        fresh.status = structuredClone(status);
      });
    };
    /** Writes only when the stored status is still `base`; false: our view was stale, nothing written. */
    const writeUnlessStale = async (): Promise<boolean> => {
      let stale = false;
      snap = await updateStatus<VMSnapshot>(o.client, Kinds.VMSnapshot, snap, (fresh) => {
        if (!isDeepStrictEqual(fresh.status ?? {}, base)) {
          stale = true;
          return false;
        }
        fresh.status = structuredClone(status);
      });
      return !stale;
    };
    const call = { signal, timeoutMs: 300_000 };

    if (snap.metadata?.deletionTimestamp) {
      if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) return;
      if (vm?.status?.id && providerObj && (status.snapshotID || status.phase === 'Creating')) {
        try {
          const provider = await o.connections.get(providerObj);
          await checkedVmId(provider, vm, call);
          // An intent without an id: a snapshot taken by an attempt that died before recording it is deleted too.
          const id = status.snapshotID || (await findUnrecordedSnapshot(provider, vm.status.id, snap, claimedBySiblings(snap), call));
          if (id) {
            await provider.snapshotDelete(vm.status.id, id, call);
            o.events.event(snap, 'Normal', 'Deleted', `deleted snapshot ${id} of VM ${vm.status.id}`);
          }
        } catch (err) {
          // SN-6: a failed delete is reported but does not keep the object.
          if (!isProviderError(err, 'NotFound')) o.events.event(snap, 'Warning', err instanceof IdentityMismatch ? err.reason : 'DeleteFailed', (err as Error).message);
        }
      }
      await removeFinalizer(o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
      return;
    }
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) snap = await addFinalizer(o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
    if (status.phase === 'Ready' || status.phase === 'Failed') return;
    if (!vm || !providerObj) {
      const why = !vm ? `VirtualMachine "${ns}/${snap.spec?.vmRef?.name}" not found` : found && 'message' in found ? found.message : 'the VM\'s Provider was not found';
      cond(false, found && 'reason' in found && found.reason === 'ReferenceNotPermitted' ? 'ReferenceNotPermitted' : 'WaitingForDependencies', why);
      status.phase = status.phase === 'Creating' ? 'Creating' : 'Pending';
      await write();
      return { requeueAfterMs: 30_000 };
    }
    if (!vm.status?.id) {
      cond(false, 'WaitingForDependencies', `VirtualMachine "${ns}/${vm.metadata?.name}" is not created on the provider yet`);
      status.phase = status.phase === 'Creating' ? 'Creating' : 'Pending';
      await write();
      return { requeueAfterMs: 30_000 };
    }
    const provKey = providerKey(providerObj);
    try {
      const provider = await o.connections.get(providerObj);
      if (!status.snapshotID) {
        await checkedVmId(provider, vm, call);
        const hint = snapshotNameHint(snap);
        let id: string | undefined;
        let task: string | undefined;
        if (status.phase === 'Creating') {
          // An earlier attempt recorded its intent but no id: it may have taken the snapshot and then died or lost
          // the answer. The cache may also lag behind our own last write: confirm on the server, then look.
          const fresh = await o.client.get<VMSnapshot>(Kinds.VMSnapshot, ns, snap.metadata!.name!);
          if (!fresh || fresh.metadata?.uid !== snap.metadata?.uid) return;
          if (fresh.status?.snapshotID || fresh.status?.phase !== 'Creating') return { requeueAfterMs: pollMs };
          id = await findUnrecordedSnapshot(provider, vm.status.id, snap, claimedBySiblings(snap), call);
          if (id) o.events.event(snap, 'Normal', 'Recovered', `found snapshot ${id} of VM ${vm.status.id} taken by an earlier attempt; not taking another`);
        } else {
          // The intent first, so that a crash after SnapshotCreate is followed by a look on the provider, not a second snapshot.
          status.phase = 'Creating';
          status.creationTime ??= rfc3339();
          cond(false, 'Creating', `taking snapshot "${hint}" of VM ${vm.status.id} on Provider ${provKey}`);
          // Refused when the stored status moved on (e.g. an id we wrote that the cache has not seen yet).
          if (!(await writeUnlessStale())) return { requeue: true };
        }
        if (!id) {
          const cfg = snap.spec?.snapshotConfig;
          const res = await provider.snapshotCreate({ vmId: vm.status.id, nameHint: hint, includeMemory: cfg?.includeMemory ?? false, description: cfg?.description ?? '' }, call);
          id = res.snapshotId;
          task = res.task?.id || undefined;
          o.events.event(snap, 'Normal', 'Creating', `snapshot ${id} of VM ${vm.status.id} requested`);
        }
        status.snapshotID = id;
        status.taskRef = task;
        status.phase = 'Creating';
        cond(false, 'Creating', task ? `snapshot ${id} of VM ${vm.status.id}: task ${task} in progress` : `snapshot ${id} of VM ${vm.status.id} taken`);
        // The id is written whatever else changed meanwhile: dropping it would leave an orphan on the provider.
        await write();
      }
      if (status.taskRef) {
        const st = await pollTask(provider, status.taskRef, call);
        if (!st.done) {
          await write();
          return { requeueAfterMs: pollMs };
        }
        status.taskRef = undefined;
        if (st.error) {
          status.phase = 'Failed';
          status.message = o.events.redact(snap, st.error);
          cond(false, 'ProviderError', st.error);
          o.events.event(snap, 'Warning', 'Failed', st.error);
          await write();
          return;
        }
      }
      const now = rfc3339();
      status.phase = 'Ready';
      status.creationTime ??= now;
      status.completionTime = now;
      status.parent = { name: vm.metadata!.name!, ...(vm.metadata?.uid ? { uid: vm.metadata.uid } : {}) };
      cond(true, 'Ready', `snapshot ${status.snapshotID} of VM ${vm.status.id} is ready`);
      o.events.event(snap, 'Normal', 'Ready', `snapshot ${status.snapshotID} is ready`);
      await write();
    } catch (err) {
      const message = (err as Error).message;
      const reason = err instanceof IdentityMismatch ? err.reason : 'ProviderError';
      const before = getCondition(status.conditions as Condition[] | undefined, 'Ready');
      if (before?.reason !== reason) o.events.event(snap, 'Warning', reason, message);
      cond(false, reason, message);
      await write();
      return err instanceof IdentityMismatch ? { requeueAfterMs: 60_000 } : { requeue: true };
    }
  };
  const controller = new Controller({ name: 'vmsnapshot', workers: 4, logger: o.logger, metrics: o.metrics, reconcile });
  controller.watch(i.snapshots);
  // A VM getting its provider id unblocks its pending snapshots.
  controller.watch(i.vms, {
    mapFn: (vm) => i.snapshots.byIndex('vm', objectKey(vm)).filter((s) => s.status?.phase !== 'Ready').map((s) => objectKey(s)),
    predicate: (vm, old) => !old || vm.status?.id !== old.status?.id,
  });
  return controller;
}
