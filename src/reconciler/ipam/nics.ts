/**
 * The addresses of a VM's NICs, from the VMNetworkAttachments they use:
 * `ipAllocation.type` Static gives the attachment's one address to one VM
 * at a time, Pool takes a free address from an operator pool offered to
 * the namespace, DHCP and None leave addressing to the network.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMNetworkAttachment } from '../../generated/vm-network-attachment';
import { isForbidden } from '../runtime/errors';
import { parseCidr, ipToInt } from './addresses';
import type { IpPoolSettings } from '../config/types';
import { AddressInUse, PoolExhausted, type AddressLease, type IpAllocator, type Scope } from './allocator';

export interface NicAddress {
  readonly ip: string;
  readonly prefix: number;
  readonly gateway?: string;
  readonly dns: readonly string[];
}

/** Why a VM cannot get its addresses; `reason` goes into its Ready condition. */
export class AddressingError extends Error {
  constructor(readonly reason: 'IPAllocationRefused' | 'IPPoolExhausted' | 'AddressInUse', message: string) {
    super(message);
  }
}

/** True when some NIC of the VM uses an attachment that allocates (Static or Pool): only then is the allocator asked. */
export function allocates(vm: VirtualMachine, attachments: ReadonlyMap<string, VMNetworkAttachment>): boolean {
  return (vm.spec?.networks ?? []).some((n) => {
    const t = n.networkRef ? attachments.get(n.networkRef.name)?.spec?.ipAllocation?.type : undefined;
    return t === 'Static' || t === 'Pool';
  });
}

/** Where an attachment's addresses come from, checked against the operator's pools (throws AddressingError). */
export type AddressSource =
  | { readonly kind: 'Static'; readonly scope: Scope; readonly ip: string; readonly prefix: number; readonly gateway?: string; readonly dns: readonly string[] }
  | { readonly kind: 'Pool'; readonly scope: Scope & { readonly pool: IpPoolSettings }; readonly prefix: number; readonly gateway?: string; readonly dns: readonly string[]; readonly preferred?: string };

/** The address source of a Static or Pool attachment in `namespace`; undefined for DHCP and None. */
export function addressSource(ipam: IpAllocator, att: VMNetworkAttachment, namespace: string): AddressSource | undefined {
  const alloc = att.spec?.ipAllocation;
  if (alloc?.type !== 'Static' && alloc?.type !== 'Pool') return undefined;
  const where = `VMNetworkAttachment ${att.metadata?.name}`;
  const dns = alloc.dnsConfig?.servers ?? [];
  if (alloc.type === 'Static') {
    const address = alloc.staticConfig?.address;
    const net = address ? parseCidr(address) : undefined;
    if (!address || !net) throw new AddressingError('IPAllocationRefused', `${where}: spec.ipAllocation.staticConfig.address: Required value: type Static needs an address in CIDR form`);
    const ip = address.split('/')[0]!;
    const pool = ipam.poolCovering(ip);
    if (pool) throw new AddressingError('IPAllocationRefused', `${where}: spec.ipAllocation.staticConfig.address: Forbidden: ${ip} lies in the operator's IP pool ${JSON.stringify(pool.name)}; use ipAllocation.type Pool with poolRef.name ${pool.name}`);
    return { kind: 'Static', scope: { staticIn: namespace }, ip, prefix: net.prefix, ...(alloc.staticConfig?.gateway ? { gateway: alloc.staticConfig.gateway } : {}), dns };
  }
  const name = alloc.poolConfig?.poolRef?.name;
  const pool = name ? ipam.pool(name) : undefined;
  if (!name) throw new AddressingError('IPAllocationRefused', `${where}: spec.ipAllocation.poolConfig.poolRef.name: Required value: type Pool needs a pool`);
  if (!pool) throw new AddressingError('IPAllocationRefused', `${where}: spec.ipAllocation.poolConfig.poolRef.name: Not found: ${JSON.stringify(name)}: the reconciler configuration has no such IP pool (ipam.pools)`);
  if (!pool.namespaces.includes('*') && !pool.namespaces.includes(namespace)) {
    throw new AddressingError('IPAllocationRefused', `${where}: spec.ipAllocation.poolConfig.poolRef.name: Forbidden: IP pool ${JSON.stringify(name)} is not offered to namespace ${namespace}`);
  }
  const preferred = alloc.poolConfig?.preferredIP;
  return {
    kind: 'Pool', scope: { pool }, prefix: parseCidr(pool.cidr)!.prefix, ...(pool.gateway ? { gateway: pool.gateway } : {}), dns: dns.length ? dns : pool.dns,
    ...(preferred && ipToInt(preferred) !== undefined ? { preferred } : {}),
  };
}

/**
 * Claims (or finds again) the address of every allocating NIC, then releases
 * what the VM holds and no longer uses (a NIC removed, an attachment
 * changed). Idempotent: a second call with the same spec makes no Lease.
 */
export async function claimAddresses(ipam: IpAllocator, vm: VirtualMachine, attachments: ReadonlyMap<string, VMNetworkAttachment>, signal?: AbortSignal): Promise<Map<string, NicAddress>> {
  const namespace = vm.metadata?.namespace ?? '';
  const uid = vm.metadata?.uid ?? '';
  const held = await ipam.heldBy(uid);
  const used = new Set<string>();
  const out = new Map<string, NicAddress>();
  for (const [i, nic] of (vm.spec?.networks ?? []).entries()) {
    const att = nic.networkRef ? attachments.get(nic.networkRef.name) : undefined;
    const source = att ? addressSource(ipam, att, namespace) : undefined;
    if (!source) continue;
    const where = `VMNetworkAttachment ${att!.metadata?.name}`;
    if (nic.ipAddress) throw new AddressingError('IPAllocationRefused', `spec.networks[${i}].ipAddress: Forbidden: ${where} allocates the address (ipAllocation.type ${source.kind}); remove ipAddress or use an attachment of type DHCP or None`);
    const holder = { namespace, vm: vm.metadata?.name ?? '', uid, nic: nic.name };
    try {
      const lease = source.kind === 'Static'
        ? await ipam.claim(source.scope, holder, held, { address: source.ip, signal })
        : await ipam.claim(source.scope, holder, held, { ...(source.preferred ? { preferred: source.preferred } : {}), signal });
      used.add(lease.name);
      out.set(nic.name, { ip: lease.address, prefix: source.prefix, ...(source.gateway ? { gateway: source.gateway } : {}), dns: source.dns });
    } catch (err) {
      if (err instanceof AddressInUse) throw new AddressingError('AddressInUse', `${where}: spec.ipAllocation.staticConfig.address: Invalid value: ${JSON.stringify(err.address)}: already in use by VirtualMachine ${err.holder}`);
      if (err instanceof PoolExhausted) throw new AddressingError('IPPoolExhausted', `${where}: spec.ipAllocation.poolConfig.poolRef.name: ${err.message}; the VM waits for an address to be released`);
      throw err;
    }
  }
  await ipam.release(held.filter((l: AddressLease) => !used.has(l.name)));
  return out;
}

/**
 * Releases every address a VM holds (after its hypervisor VM is gone). A
 * reconciler that may not read the Leases (Forbidden) cannot have claimed
 * any either (every claim lists them first): nothing to release, and a
 * deletion must not hang on it.
 */
export async function releaseAddresses(ipam: IpAllocator, vm: VirtualMachine): Promise<void> {
  const uid = vm.metadata?.uid;
  if (!uid) return;
  let held: AddressLease[];
  try {
    held = await ipam.heldBy(uid);
  } catch (err) {
    if (isForbidden(err)) return;
    throw err;
  }
  await ipam.release(held);
}
