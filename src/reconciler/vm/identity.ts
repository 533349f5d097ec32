/**
 * VM identity by uid: every provider VM carries the uid of the
 * VirtualMachine it was created for (CreateRequest.uid), and the reconciler
 * acts on a provider VM only when that uid is this object's.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { Provider } from '../../providers/provider';

/** True when the provider reports a uid and it is not this VM's. A provider that reports none cannot be checked. */
export function isForeign(reportedUid: string | undefined, vm: VirtualMachine): boolean {
  return reportedUid !== undefined && reportedUid !== '' && reportedUid !== vm.metadata?.uid;
}

/** The provider VM created for this object, looked up by uid (never by name). */
export async function findByUid(provider: Provider, vm: VirtualMachine, o: { signal?: AbortSignal; timeoutMs?: number }): Promise<string | undefined> {
  const uid = vm.metadata?.uid;
  if (!uid) return undefined;
  return (await provider.listVMs(o)).find((v) => v.uid === uid)?.id;
}

/** A VM's status.id names a provider VM created for another object: nothing may be done to it through this VM. */
export class IdentityMismatch extends Error {
  readonly reason = 'IdentityMismatch';
}

/**
 * `vm.status.id`, once the provider confirmed it is this VM's (its uid, when
 * the provider reports one). For controllers that act on a VM's provider VM
 * (snapshots), since status.id is only as trustworthy as whoever wrote it.
 */
export async function checkedVmId(provider: Provider, vm: VirtualMachine, o: { signal?: AbortSignal; timeoutMs?: number }): Promise<string> {
  const id = vm.status?.id ?? '';
  const desc = await provider.describe(id, o);
  if (desc.exists && isForeign(desc.uid, vm)) {
    throw new IdentityMismatch(`VM ${id} on the provider belongs to another VirtualMachine (uid ${desc.uid}), not to ${vm.metadata?.namespace}/${vm.metadata?.name}; nothing is done to it`);
  }
  return id;
}
