/**
 * The VM reconciler's use of the address allocator (src/reconciler/ipam):
 * the claim before a create, turned into a condition when it cannot be
 * made, and the same addresses again for a reconfigure payload.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMNetworkAttachment } from '../../generated/vm-network-attachment';
import type { IpAllocator } from '../ipam/allocator';
import { AddressingError, allocates, claimAddresses, type NicAddress } from '../ipam/nics';
import type { VmReconcilerContext } from './context';

export type CreateClaim =
  | { readonly addresses?: Map<string, NicAddress> }
  | { readonly refused: { readonly reason: string; readonly message: string; readonly retryMs: number } };

export async function addressesForCreate(ctx: Pick<VmReconcilerContext, 'ipam' | 'log' | 'timing'>, vm: VirtualMachine, attachments: ReadonlyMap<string, VMNetworkAttachment>, signal?: AbortSignal): Promise<CreateClaim> {
  if (!allocates(vm, attachments)) return {};
  try {
    return { addresses: await claimAddresses(ctx.ipam, vm, attachments, signal) };
  } catch (err) {
    // A released address wakes the VMs waiting on its pool (vm/controller.ts); the timer is a safety net.
    if (err instanceof AddressingError) return { refused: { reason: err.reason, message: err.message, retryMs: ctx.timing.dependencyRetryMs } };
    // Not an addressing verdict: the Leases could not be read or written (e.g. RBAC); retried like any API error.
    const message = `recording the NICs' addresses: ${(err as Error).message}`;
    ctx.log.info('VirtualMachine not converged', { vm: `${vm.metadata?.namespace}/${vm.metadata?.name}`, reason: 'IPAllocationFailed', error: message });
    return { refused: { reason: 'IPAllocationFailed', message, retryMs: ctx.timing.errorRetryMs } };
  }
}

/** The NICs' addresses for a reconfigure payload: the same ones again (claims are idempotent); none if the spec no longer allows them. */
export async function heldAddresses(ipam: IpAllocator, vm: VirtualMachine, attachments: ReadonlyMap<string, VMNetworkAttachment>): Promise<Map<string, NicAddress> | undefined> {
  if (!allocates(vm, attachments)) return undefined;
  try {
    return await claimAddresses(ipam, vm, attachments);
  } catch (err) {
    if (err instanceof AddressingError) return undefined;
    throw err;
  }
}
