/** The VMSet controller: its reconciler and the watches that wake it. */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { ControllerDeps } from '../deps';
import { Controller } from '../runtime';
import { isReady } from './members';
import { REVISION_LABEL, SET_LABEL } from './naming';
import { VmSetReconciler } from './reconciler';

export { VMSET_FINALIZER } from './reconciler';

/** `namespace/name` of the VMSet controlling a VM, if one does. */
export function controllingSet(vm: VirtualMachine): string[] {
  const ref = vm.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'VMSet');
  return ref ? [`${vm.metadata?.namespace}/${ref.name}`] : [];
}

const readyReason = (vm: VirtualMachine) => vm.status?.conditions?.find((c) => c.type === 'Ready')?.reason;

export function createVmSetController(o: ControllerDeps): Controller {
  const i = o.informers;
  const reconciler = new VmSetReconciler(o);
  const controller = new Controller({ name: 'vmset', workers: 4, logger: o.logger, metrics: o.metrics, reconcile: (k) => reconciler.reconcile(k) });
  controller.watch(i.vmsets);
  // A member's readiness, generation, revision label or deletion changes what the set does next.
  controller.watch(i.vms, {
    mapFn: controllingSet,
    predicate: (vm, old) =>
      !old || vm === old || isReady(vm) !== isReady(old) || vm.status?.phase !== old.status?.phase || readyReason(vm) !== readyReason(old) ||
      vm.metadata?.deletionTimestamp !== old.metadata?.deletionTimestamp || vm.metadata?.labels?.[REVISION_LABEL] !== old.metadata?.labels?.[REVISION_LABEL],
  });
  controller.watch(i.revisions, { mapFn: (r) => (r.metadata?.labels?.[SET_LABEL] ? [`${r.metadata.namespace}/${r.metadata.labels[SET_LABEL]}`] : []) });
  return controller;
}
