/** REST coordinates of our kinds, taken from the same definitions that synthesize the CRDs. */
import { ALL_KINDS } from '../api/v1beta1';
import type { ResourceType } from './runtime';

function resourceOf(kind: string): ResourceType {
  const def = ALL_KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return { group: def.group, version: def.version, plural: def.plural, kind: def.kind, namespaced: def.props.scope === 'Namespaced' };
}

export const Kinds = {
  VirtualMachine: resourceOf('VirtualMachine'),
  VMClass: resourceOf('VMClass'),
  VMImage: resourceOf('VMImage'),
  VMNetworkAttachment: resourceOf('VMNetworkAttachment'),
  Provider: resourceOf('Provider'),
  VMPlacementPolicy: resourceOf('VMPlacementPolicy'),
  VMSnapshot: resourceOf('VMSnapshot'),
  VMClone: resourceOf('VMClone'),
  VMSet: resourceOf('VMSet'),
  VMMigration: resourceOf('VMMigration'),
} as const;

export const API_VERSION = `${Kinds.VirtualMachine.group}/${Kinds.VirtualMachine.version}`;

/** `namespace/name` of a reference, the namespace defaulting to the referrer's. */
export function refKey(ref: { name: string; namespace?: string }, defaultNamespace: string): string {
  return `${ref.namespace || defaultNamespace}/${ref.name}`;
}
