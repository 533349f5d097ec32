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
