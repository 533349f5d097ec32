/** The Provider controller: its reconciler and the watches that wake it. */
import type { VirtualMachine } from '../../generated/virtual-machine';
import { VM_INDEX } from '../informers';
import { refKey } from '../kinds';
import type { ControllerDeps } from '../deps';
import type { RuntimePolicy } from '../provider-runtime';
import { Controller, CoreResources, Informer } from '../runtime';
import { ProviderReconciler } from './reconciler';

export interface ProviderControllerOptions extends ControllerDeps {
  readonly namespace?: string;
  readonly pendingRetryMs?: number;
  /** What a Provider may ask of its runtime pod (images, placement, env). @default DEFAULT_RUNTIME_POLICY */
  readonly runtimePolicy?: RuntimePolicy;
}

/** Label selector of the provider runtime Deployments the reconciler renders. */
export const RUNTIME_SELECTOR = 'app.kubernetes.io/managed-by=virtrigaud,app.kubernetes.io/component=provider';

export function createProviderController(o: ProviderControllerOptions): { controller: Controller; deployments: Informer } {
  const i = o.informers;
  const reconciler = new ProviderReconciler({
    client: o.client,
    providers: i.providers,
    connectedVMs: (key) => i.vms.byIndex(VM_INDEX.provider, key).length,
    connections: o.connections,
    events: o.events,
    log: o.logger.child({ controller: 'provider' }),
    pendingRetryMs: o.pendingRetryMs,
    runtimePolicy: o.runtimePolicy,
  });
  const controller = new Controller({ name: 'provider', workers: 2, logger: o.logger, metrics: o.metrics, reconcile: (k, s) => reconciler.reconcile(k, s) });
  controller.watch(i.providers);
  // Runtime Deployments: their readiness decides the runtime phase.
  const deployments = new Informer(o.client, CoreResources.deployments, { namespace: o.namespace, labelSelector: RUNTIME_SELECTOR, logger: o.logger });
  controller.watch(deployments, {
    mapFn: (d: any) => (d.metadata?.ownerReferences ?? []).filter((r: any) => r.kind === 'Provider').map((r: any) => `${d.metadata.namespace}/${r.name}`),
    predicate: (d: any, old?: any) => !old || JSON.stringify(d.status ?? {}) !== JSON.stringify(old.status ?? {}) || d.metadata?.generation !== old.metadata?.generation,
  });
  // VMs appearing, going or moving to another Provider change status.connectedVMs.
  const providerOf = (vm: VirtualMachine) => (vm.spec?.providerRef ? [refKey(vm.spec.providerRef, vm.metadata?.namespace ?? '')] : []);
  controller.watch(i.vms, {
    mapFn: providerOf,
    predicate: (vm, old) => !old || providerOf(vm).join() !== providerOf(old).join(),
  });
  return { controller, deployments };
}
