/**
 * The VMSnapshot controller: takes the snapshot on the VM's provider,
 * follows its task to Ready, and deletes it from the provider through a
 * finalizer (SN-1, SN-2, SN-3, SN-6). Retention and schedules are not
 * implemented (they are inert upstream too, apart from maxAge).
 */
import { isDeepStrictEqual } from 'node:util';
import type { VMSnapshot, VMSnapshotStatus } from '../../generated/vm-snapshot';
import { isProviderError } from '../../providers/provider';
import type { OperatorInformers } from '../informers';
import { Kinds, refKey } from '../kinds';
import type { ProviderConnections } from '../provider-connections';
import { addFinalizer, Controller, hasFinalizer, objectKey, removeFinalizer, rfc3339, setCondition, updateStatus, type Condition, type EventRecorder, type KubeClient, type Logger, type Metrics, type Result } from '../runtime';
import { pollTask } from '../task';

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

export function createSnapshotController(o: SnapshotControllerOptions): Controller {
  const i = o.informers;
  const pollMs = o.pollMs ?? 2_000;
  const reconcile = async (key: string, signal: AbortSignal): Promise<Result | void> => {
    const cached = i.snapshots.get(key);
    if (!cached) return;
    let snap = structuredClone(cached);
    const ns = snap.metadata!.namespace!;
    const vm = i.vms.get(`${ns}/${snap.spec?.vmRef?.name}`);
    const providerObj = vm?.spec?.providerRef ? i.providers.get(refKey(vm.spec.providerRef, ns)) : undefined;
    const status: VMSnapshotStatus = structuredClone(snap.status ?? {});
    const cond = (ok: boolean, reason: string, message: string) => {
      status.conditions = setCondition(status.conditions as Condition[] | undefined, { type: 'Ready', status: ok ? 'True' : 'False', reason, message, observedGeneration: snap.metadata?.generation });
    };
    const write = async () => {
      if (isDeepStrictEqual(status, snap.status ?? {})) return;
      snap = await updateStatus<VMSnapshot>(o.client, Kinds.VMSnapshot, snap, (fresh) => {
        fresh.status = structuredClone(status);
      });
    };
    const call = { signal, timeoutMs: 300_000 };

    if (snap.metadata?.deletionTimestamp) {
      if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) return;
      if (vm?.status?.id && status.snapshotID && providerObj) {
        try {
          const provider = await o.connections.get(providerObj);
          await provider.snapshotDelete(vm.status.id, status.snapshotID, call);
          o.events.event(snap, 'Normal', 'Deleted', `deleted snapshot ${status.snapshotID} of VM ${vm.status.id}`);
        } catch (err) {
          // SN-6: a failed delete is reported but does not keep the object.
          if (!isProviderError(err, 'NotFound')) o.events.event(snap, 'Warning', 'DeleteFailed', (err as Error).message);
        }
      }
      await removeFinalizer(o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
      return;
    }
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) snap = await addFinalizer(o.client, Kinds.VMSnapshot, snap, SNAPSHOT_FINALIZER);
    if (status.phase === 'Ready' || status.phase === 'Failed') return;
    if (!vm || !providerObj) {
      cond(false, 'WaitingForDependencies', !vm ? `VirtualMachine "${ns}/${snap.spec?.vmRef?.name}" not found` : 'the VM\'s Provider was not found');
      status.phase = 'Pending';
      await write();
      return { requeueAfterMs: 30_000 };
    }
    if (!vm.status?.id) {
      cond(false, 'WaitingForDependencies', `VirtualMachine "${ns}/${vm.metadata?.name}" is not created on the provider yet`);
      status.phase = 'Pending';
      await write();
      return { requeueAfterMs: 30_000 };
    }
    try {
      const provider = await o.connections.get(providerObj);
      if (!status.snapshotID) {
        // The cache may lag behind our own last write (e.g. the finalizer patch woke us): confirm on the server.
        const fresh = await o.client.get<VMSnapshot>(Kinds.VMSnapshot, ns, snap.metadata!.name!);
        if (!fresh || fresh.metadata?.uid !== snap.metadata?.uid) return;
        if (fresh.status?.snapshotID) return { requeueAfterMs: pollMs };
        const cfg = snap.spec?.snapshotConfig;
        const res = await provider.snapshotCreate(
          { vmId: vm.status.id, nameHint: cfg?.name || snap.metadata!.name!, includeMemory: cfg?.includeMemory ?? false, description: cfg?.description ?? '' },
          call,
        );
        status.snapshotID = res.snapshotId;
        status.taskRef = res.task?.id || undefined;
        status.phase = 'Creating';
        cond(false, 'Creating', `snapshot ${res.snapshotId} of VM ${vm.status.id} requested`);
        o.events.event(snap, 'Normal', 'Creating', `snapshot ${res.snapshotId} of VM ${vm.status.id} requested`);
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
          status.message = st.error;
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
      cond(false, 'ProviderError', (err as Error).message);
      await write();
      return { requeue: true };
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
