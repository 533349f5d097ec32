/**
 * What the operator lets a Proxmox Provider use: nodes, storages and
 * bridges. Deny by default: an empty list means the tenant may choose
 * none of that kind.
 *
 * - nodes empty: a VM is cloned onto the node its template lives on (the
 *   node PVE reports for the template's VMID, never a name from the
 *   tenant); naming any other node is refused.
 * - storages empty: a VM's disks stay on the template's storage (no
 *   `storage` on the clone, data disks beside the boot disk); naming any
 *   storage is refused.
 * - bridges empty: no NIC can be attached.
 *
 * The entry `*` ({@link ANY}) allows every value of its kind. Only
 * operator-controlled code sets it: a provider pod's own configuration
 * (whose operator configured the pod itself, see {@link PROXMOX_ANY}), or
 * the reconciler config when the operator writes `"*"` there.
 */
import { ProviderError } from '../provider';

export type ProxmoxLimitKind = 'node' | 'storage' | 'bridge';

export interface ProxmoxLimitLists {
  readonly nodes: readonly string[];
  readonly storages: readonly string[];
  readonly bridges: readonly string[];
}

/** The wildcard entry: every value of its kind is allowed. */
export const ANY = '*';

/** Everything allowed: for a provider pod whose operator configured the pod itself. Never a default. */
export const PROXMOX_ANY: ProxmoxLimitLists = Object.freeze({ nodes: [ANY], storages: [ANY], bridges: [ANY] });

const PLURAL: Record<ProxmoxLimitKind, keyof ProxmoxLimitLists> = { node: 'nodes', storage: 'storages', bridge: 'bridges' };

const EMPTY_MEANS: Record<ProxmoxLimitKind, string> = {
  node: 'VMs stay on their template\'s node',
  storage: 'leave it unset to keep the template\'s storage',
  bridge: 'no NIC can be attached',
};

export class ProxmoxLimits implements ProxmoxLimitLists {
  constructor(readonly nodes: readonly string[] = [], readonly storages: readonly string[] = [], readonly bridges: readonly string[] = []) {}

  list(kind: ProxmoxLimitKind): readonly string[] {
    return this[PLURAL[kind]];
  }

  /** True when the operator allows every value of `kind` (a `*` entry). */
  allowsAny(kind: ProxmoxLimitKind): boolean {
    return this.list(kind).includes(ANY);
  }

  /** The first value the operator named (the default when the tenant names none), never the wildcard. */
  first(kind: ProxmoxLimitKind): string | undefined {
    return this.list(kind).find((x) => x !== ANY);
  }

  /**
   * Throws InvalidSpec unless the operator allows `value`. `own` is the
   * value the template itself implies (its node): with an empty list that
   * one, and only that one, is allowed.
   */
  check(kind: ProxmoxLimitKind, value: string, op: string, field: string, own?: string): void {
    const list = this.list(kind);
    if (list.includes(ANY) || list.includes(value)) return;
    if (!list.length) {
      if (own !== undefined && value === own) return;
      throw new ProviderError('InvalidSpec', `${op}: ${field}: Forbidden: ${kind} ${JSON.stringify(value)}: the operator allows no ${PLURAL[kind]} (${EMPTY_MEANS[kind]}${own !== undefined ? `: ${JSON.stringify(own)}` : ''}; the operator configures proxmox.${PLURAL[kind]} in the reconciler config)`, op);
    }
    throw new ProviderError('InvalidSpec', `${op}: ${field}: Forbidden: ${kind} ${JSON.stringify(value)} is not one the operator allows (${list.map((x) => JSON.stringify(x)).join(', ')})`, op);
  }
}
