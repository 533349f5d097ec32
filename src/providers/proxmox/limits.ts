/**
 * What the operator lets a Proxmox Provider use: nodes, storages and
 * bridges. Empty lists allow anything (a provider pod, whose operator
 * configured the pod itself); the in-process driver always fills them.
 */
import { ProviderError } from '../provider';

export interface ProxmoxLimitLists {
  readonly nodes: readonly string[];
  readonly storages: readonly string[];
  readonly bridges: readonly string[];
}

export class ProxmoxLimits implements ProxmoxLimitLists {
  constructor(readonly nodes: readonly string[] = [], readonly storages: readonly string[] = [], readonly bridges: readonly string[] = []) {}

  check(kind: 'node' | 'storage' | 'bridge', value: string, op: string, field: string): void {
    const list = kind === 'node' ? this.nodes : kind === 'storage' ? this.storages : this.bridges;
    if (list.length && !list.includes(value)) {
      throw new ProviderError('InvalidSpec', `${op}: ${field}: Forbidden: ${kind} ${JSON.stringify(value)} is not one the operator allows (${list.map((x) => JSON.stringify(x)).join(', ')})`, op);
    }
  }
}
