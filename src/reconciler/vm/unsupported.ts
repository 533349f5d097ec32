/**
 * VirtualMachine fields the CRD accepts that no provider applies yet. A VM
 * that sets one still runs, but says so in condition `Unsupported=True`
 * (reason `FieldNotImplemented`, a Warning Event on the transition) rather
 * than pretending the field took effect.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';

const CHECKS: readonly { readonly path: string; readonly set: (vm: VirtualMachine) => boolean; readonly why: string }[] = [
  { path: 'spec.resources.gpu', set: (vm) => !!vm.spec?.resources?.gpu, why: 'GPU passthrough is not implemented by any provider yet' },
  { path: 'spec.userData.ignition', set: (vm) => !!vm.spec?.userData?.ignition, why: 'Ignition configs are not delivered to guests yet (use spec.userData.cloudInit)' },
  { path: 'spec.placement.host', set: (vm) => !!vm.spec?.placement?.host, why: 'pinning a VM to a host is not implemented yet (use spec.placement.cluster)' },
  { path: 'spec.placement.resourcePool', set: (vm) => !!vm.spec?.placement?.resourcePool, why: 'per-VM resource pools are not implemented yet (the Provider\'s spec.defaults apply)' },
];

/** One `<field path>: Unsupported value: <why>` line per field set that nothing applies. */
export function unsupportedFields(vm: VirtualMachine): string[] {
  return CHECKS.filter((c) => c.set(vm)).map((c) => `${c.path}: Unsupported value: ${c.why}`);
}
