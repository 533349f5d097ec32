/** The VMSnapshot controller: its reconciler and the watches that wake it. */
import type { ControllerDeps } from '../deps';
import { Controller, objectKey } from '../runtime';
import { SnapshotReconciler } from './reconciler';
import { SCHEDULE_LABEL } from './schedule';

export { SNAPSHOT_FINALIZER } from './reconciler';
export { findUnrecordedSnapshot, snapshotNameHint, uidToken } from './naming';

export interface SnapshotControllerOptions extends ControllerDeps {
  readonly pollMs?: number;
}

export function createSnapshotController(o: SnapshotControllerOptions): Controller {
  const i = o.informers;
  const reconciler = new SnapshotReconciler(o);
  const controller = new Controller({ name: 'vmsnapshot', workers: 4, logger: o.logger, metrics: o.metrics, reconcile: (k, s) => reconciler.reconcile(k, s) });
  controller.watch(i.snapshots);
  // A VM getting its provider id unblocks its pending snapshots; a VM deleted (or made again) starts or stops their retention clock.
  controller.watch(i.vms, {
    mapFn: (vm) => i.snapshots.byIndex('vm', objectKey(vm)).map((s) => objectKey(s)),
    predicate: (vm, old) => !old || vm.status?.id !== old.status?.id,
  });
  // A child of a schedule (VMSnapshot with spec.schedule) finishing or going wakes the schedule (concurrency, history limits).
  controller.watch(i.snapshots, {
    mapFn: (snap) => (snap.metadata?.labels?.[SCHEDULE_LABEL] ? [`${snap.metadata.namespace}/${snap.metadata.labels[SCHEDULE_LABEL]}`] : []),
    predicate: (snap, old) => !old || snap === old || snap.status?.phase !== old.status?.phase || snap.metadata?.deletionTimestamp !== old.metadata?.deletionTimestamp,
  });
  // A snapshot becoming Ready may put older ones of the same VM over their retentionPolicy.maxCount.
  controller.watch(i.snapshots, {
    mapFn: (snap) => i.snapshots.byIndex('vm', `${snap.metadata?.namespace}/${snap.spec?.vmRef?.name}`).filter((s) => s.spec?.retentionPolicy?.maxCount && s !== snap).map((s) => objectKey(s)),
    predicate: (snap, old) => snap.status?.phase === 'Ready' && old?.status?.phase !== 'Ready',
  });
  return controller;
}
