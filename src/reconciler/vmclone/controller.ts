/** The VMClone controller: its reconciler and the watches that wake it. */
import type { ControllerDeps } from '../deps';
import { Controller, objectKey } from '../runtime';
import { CLONE_ANNOTATIONS } from './plan';
import { VmCloneReconciler, type VmCloneTiming } from './reconciler';

export { CLONE_FINALIZER } from './reconciler';
export { CLONE_ANNOTATIONS } from './plan';

export interface VmCloneControllerOptions extends ControllerDeps {
  readonly timing?: Partial<VmCloneTiming>;
}

export function createVmCloneController(o: VmCloneControllerOptions): Controller {
  const i = o.informers;
  const reconciler = new VmCloneReconciler(o);
  const controller = new Controller({ name: 'vmclone', workers: 2, logger: o.logger, metrics: o.metrics, reconcile: (k, s) => reconciler.reconcile(k, s) });
  controller.watch(i.clones);
  // A source VM getting its provider id unblocks the clones waiting on it.
  controller.watch(i.vms, {
    mapFn: (vm) => i.clones.byIndex('vm', objectKey(vm)).map((c) => objectKey(c)),
    predicate: (vm, old) => !old || vm.status?.id !== old.status?.id,
  });
  // A target VMClass that appears unblocks the clones waiting for it.
  controller.watch(i.classes, {
    mapFn: (cls) => i.clones.byIndex('class', objectKey(cls)).map((c) => objectKey(c)),
    predicate: (_cls, old) => !old,
  });
  // The VM a clone made: created, bound, failed or deleted.
  controller.watch(i.vms, {
    mapFn: (vm) => (vm.metadata?.annotations?.[CLONE_ANNOTATIONS.clone] ? [`${vm.metadata.namespace}/${vm.metadata.annotations[CLONE_ANNOTATIONS.clone]}`] : []),
    predicate: (vm, old) => !old || vm === old || vm.status?.id !== old.status?.id || vm.status?.phase !== old.status?.phase,
  });
  return controller;
}
