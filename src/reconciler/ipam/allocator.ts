/**
 * The address allocator. Every address held is one coordination.k8s.io
 * Lease in the reconciler's namespace, named after the scope and the
 * address: creating it is the claim, so two VMs (or two reconciler
 * replicas) racing for one address cannot both win — the API server gives
 * the loser AlreadyExists and it moves on to the next address. Deleting it
 * is the release. The Lease names its holder, so a claim after a crash
 * finds the address it already has instead of taking a second one.
 */
import type { KubeClient } from '../runtime/client';
import { isAlreadyExists } from '../runtime/errors';
import { CoreResources } from '../runtime/resources';
import type { IpPoolSettings } from '../config/types';
import { cidrContains, hostRange, intToIp, ipToInt, parseCidr } from './addresses';

export const IPAM_LABELS = {
  scope: 'ipam.virtrigaud.io/scope',
  vmUid: 'ipam.virtrigaud.io/vm-uid',
} as const;
export const IPAM_ANNOTATIONS = {
  address: 'ipam.virtrigaud.io/address',
  vm: 'ipam.virtrigaud.io/vm',
  nic: 'ipam.virtrigaud.io/nic',
} as const;

export interface Holder {
  readonly namespace: string;
  readonly vm: string;
  readonly uid: string;
  readonly nic: string;
}

/** Where an address comes from: an operator pool, or a namespace's own static address. */
export type Scope = { readonly pool: IpPoolSettings } | { readonly staticIn: string };

export interface AddressLease {
  readonly name: string;
  readonly scope: string;
  readonly address: string;
  readonly nic: string;
  readonly holder: string;
  /** `namespace/name` of the VM holding it. */
  readonly vm: string;
  /** When it was claimed (the Lease's creationTimestamp). */
  readonly since?: string;
}

export class AddressInUse extends Error {
  constructor(readonly address: string, readonly holder: string) {
    super(`address ${address} is held by ${holder}`);
  }
}

export class PoolExhausted extends Error {
  constructor(readonly pool: string) {
    super(`IP pool ${JSON.stringify(pool)} has no free address`);
  }
}

const scopeKey = (s: Scope) => ('pool' in s ? `p.${s.pool.name}` : `s.${s.staticIn}`);
const leaseName = (s: Scope, ip: string) => `vrip-${scopeKey(s).replace('.', '-')}-${ip.replaceAll('.', '-')}`;
const holderId = (h: Holder) => `${h.namespace}/${h.vm}/${h.nic}`;

function toLease(o: any): AddressLease {
  const md = o?.metadata ?? {};
  return {
    name: md.name, scope: md.labels?.[IPAM_LABELS.scope] ?? '', address: md.annotations?.[IPAM_ANNOTATIONS.address] ?? '',
    nic: md.annotations?.[IPAM_ANNOTATIONS.nic] ?? '', holder: o?.spec?.holderIdentity ?? '', vm: md.annotations?.[IPAM_ANNOTATIONS.vm] ?? '',
    ...(md.creationTimestamp ? { since: String(md.creationTimestamp) } : {}),
  };
}

/** The first and last address a pool hands out, and those it never does (gateway, exclusions). */
function poolBounds(pool: IpPoolSettings): { first: number; last: number; never: Set<string> } {
  const hosts = hostRange(parseCidr(pool.cidr)!);
  return {
    first: Math.max(hosts.first, pool.start ? ipToInt(pool.start)! : hosts.first),
    last: Math.min(hosts.last, pool.end ? ipToInt(pool.end)! : hosts.last),
    never: new Set([...(pool.gateway ? [pool.gateway] : []), ...pool.exclude]),
  };
}

/** The addresses a pool hands out, in order: its range without gateway, exclusions and (for /30 and wider) network and broadcast. */
export function* poolAddresses(pool: IpPoolSettings): Generator<string> {
  const { first, last, never } = poolBounds(pool);
  for (let n = first; n <= last; n++) {
    const ip = intToIp(n);
    if (!never.has(ip)) yield ip;
  }
}

export function poolOffers(pool: IpPoolSettings, ip: string): boolean {
  const { first, last, never } = poolBounds(pool);
  const n = ipToInt(ip);
  return n !== undefined && n >= first && n <= last && !never.has(ip);
}

export class IpAllocator {
  /** Listeners, told the namespaces of the VMs whose addresses were released or claimed. */
  private readonly released: ((namespaces: ReadonlySet<string>) => void)[] = [];
  private readonly claimed: ((namespaces: ReadonlySet<string>) => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly pools: readonly IpPoolSettings[],
  ) {}

  pool(name: string): IpPoolSettings | undefined {
    return this.pools.find((p) => p.name === name);
  }

  /** The operator pool whose subnet holds `ip` (a static address there would collide with what the pool hands out). */
  poolCovering(ip: string): IpPoolSettings | undefined {
    const n = ipToInt(ip);
    return n === undefined ? undefined : this.pools.find((p) => cidrContains(parseCidr(p.cidr)!, n));
  }

  /** Every address held in a scope (a pool, or a namespace's static addresses). */
  async leasesIn(scope: Scope): Promise<AddressLease[]> {
    const { items } = await this.client.list(CoreResources.leases, this.namespace, { labelSelector: `${IPAM_LABELS.scope}=${scopeKey(scope)}` });
    return items.map(toLease);
  }

  /** The leases a VM holds (by uid). */
  async heldBy(uid: string): Promise<AddressLease[]> {
    const { items } = await this.client.list(CoreResources.leases, this.namespace, { labelSelector: `${IPAM_LABELS.vmUid}=${uid}` });
    return items.map(toLease);
  }

  /**
   * One address for one NIC: the one it already holds in this scope, else
   * (pools) `preferred` when free, else the first free one. Static scopes
   * have the one address.
   */
  async claim(scope: Scope, holder: Holder, held: readonly AddressLease[], opts: { address?: string; preferred?: string; signal?: AbortSignal } = {}): Promise<AddressLease> {
    const key = scopeKey(scope);
    const mine = held.find((l) => l.scope === key && l.nic === holder.nic && (!opts.address || l.address === opts.address));
    if (mine) return mine;
    if (!('pool' in scope)) return this.take(scope, opts.address!, holder, opts.signal, true) as Promise<AddressLease>;
    const taken = new Set((await this.leasesIn(scope)).map((l) => l.address));
    const order = opts.preferred && !taken.has(opts.preferred) && poolOffers(scope.pool, opts.preferred) ? [opts.preferred] : [];
    for (const ip of [...order, ...poolAddresses(scope.pool)]) {
      if (taken.has(ip)) continue;
      const got = await this.take(scope, ip, holder, opts.signal, false);
      if (got) return got;
      taken.add(ip); // another claim won the race for it
    }
    throw new PoolExhausted(scope.pool.name);
  }

  /** Creates the Lease; undefined (or AddressInUse when `strict`) if someone else holds it. */
  private async take(scope: Scope, ip: string, holder: Holder, signal: AbortSignal | undefined, strict: boolean): Promise<AddressLease | undefined> {
    const name = leaseName(scope, ip);
    const body = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name, namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'virtrigaud', [IPAM_LABELS.scope]: scopeKey(scope), [IPAM_LABELS.vmUid]: holder.uid },
        annotations: { [IPAM_ANNOTATIONS.address]: ip, [IPAM_ANNOTATIONS.vm]: `${holder.namespace}/${holder.vm}`, [IPAM_ANNOTATIONS.nic]: holder.nic },
      },
      spec: { holderIdentity: holderId(holder) },
    };
    try {
      const made = toLease(await this.client.create(CoreResources.leases, body, { signal }));
      for (const fn of this.claimed) fn(new Set([holder.namespace]));
      return made;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      if (!strict) return undefined;
      const other = toLease(await this.client.get(CoreResources.leases, this.namespace, name, { signal }));
      // Static scopes are per namespace, so the holder named here is a VM of the same namespace.
      if (other.holder === holderId(holder)) return other;
      throw new AddressInUse(ip, other.holder.split('/').slice(0, 2).join('/') || 'another VM');
    }
  }

  /** Deletes the given leases (absent ones are fine). */
  async release(leases: readonly AddressLease[]): Promise<void> {
    for (const l of leases) await this.client.delete(CoreResources.leases, this.namespace, l.name);
    const namespaces = new Set(leases.map((l) => l.vm.split('/')[0] ?? ''));
    if (leases.length) for (const fn of this.released) fn(namespaces);
  }

  /** Called after addresses were released by this process (VMs waiting on a full pool look again). */
  onRelease(fn: (namespaces: ReadonlySet<string>) => void): void {
    this.released.push(fn);
  }

  /** Called after this process claimed an address (attachments list their allocations). */
  onClaim(fn: (namespaces: ReadonlySet<string>) => void): void {
    this.claimed.push(fn);
  }
}
