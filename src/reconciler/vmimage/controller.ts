/** The VMImage controller: its reconciler and the watches that wake it. */
import type { ControllerDeps } from '../deps';
import { VM_INDEX } from '../informers';
import { refKey } from '../kinds';
import { Controller, objectKey } from '../runtime';
import { VmImageReconciler, type VmImageTiming } from './reconciler';

export { imageGate, type ImageGate } from './targets';

export interface VmImageControllerOptions extends ControllerDeps {
  readonly timing?: Partial<VmImageTiming>;
}

export function createVmImageController(o: VmImageControllerOptions): Controller {
  const i = o.informers;
  const reconciler = new VmImageReconciler(o);
  const controller = new Controller({ name: 'vmimage', workers: 2, logger: o.logger, metrics: o.metrics, reconcile: (k, s) => reconciler.reconcile(k, s) });
  reconciler.enqueue = (key) => controller.queue.add(key);
  controller.watch(i.images);
  // A VM that starts (or stops) using an image, or moves to another Provider, changes where it is prepared.
  const imageOf = (vm: { spec?: { imageRef?: { name: string; namespace?: string } }; metadata?: { namespace?: string } }) =>
    vm.spec?.imageRef ? [refKey(vm.spec.imageRef, vm.metadata?.namespace ?? '')] : [];
  controller.watch(i.vms, {
    mapFn: (vm) => imageOf(vm),
    predicate: (vm, old) => !old || vm === old || vm.spec?.imageRef?.name !== old.spec?.imageRef?.name || vm.spec?.providerRef?.name !== old.spec?.providerRef?.name || !!vm.status?.id !== !!old.status?.id,
  });
  // A Provider becoming ready (capabilities, connection) unblocks the images its pending VMs wait for.
  controller.watch(i.providers, {
    mapFn: (p) => [...new Set(i.vms.byIndex(VM_INDEX.provider, objectKey(p)).flatMap((vm) => (vm.status?.id ? [] : imageOf(vm))))],
    predicate: (p, old) => !old || p === old || JSON.stringify(p.status?.conditions) !== JSON.stringify(old.status?.conditions),
  });
  return controller;
}
