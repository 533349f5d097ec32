/** The VMSnapshot controller: its reconciler and the watches that wake it. */
import type { ControllerDeps } from '../deps';
import { Controller, objectKey } from '../runtime';
import { SnapshotReconciler } from './reconciler';

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
  // A VM getting its provider id unblocks its pending snapshots.
  controller.watch(i.vms, {
    mapFn: (vm) => i.snapshots.byIndex('vm', objectKey(vm)).filter((s) => s.status?.phase !== 'Ready').map((s) => objectKey(s)),
    predicate: (vm, old) => !old || vm.status?.id !== old.status?.id,
  });
  return controller;
}
