/**
 * Names, labels and revision hashes of a VMSet's members (StatefulSet
 * conventions): member `<set>-<ordinal>`, its ordinal and revision in
 * labels, revisions named `<set>-<hash>` where the hash covers the
 * template and the set's collisionCount.
 */
import type { LabelSelector } from '../consent';

/** Label on members and revisions: the revision (ControllerRevision name) a member was made from. */
export const REVISION_LABEL = 'controller-revision-hash';
/** Label on members: their ordinal, so `kubectl get vm -l` can pick one. */
export const ORDINAL_LABEL = 'vmset.infra.virtrigaud.io/ordinal';
/** Label on ControllerRevisions: the VMSet they belong to (the revision informer watches only these). */
export const SET_LABEL = 'vmset.infra.virtrigaud.io/name';

export function memberName(set: string, ordinal: number): string {
  return `${set}-${ordinal}`;
}

/** The ordinal of a member name of `set`, or undefined when the name is not `<set>-<n>`. */
export function ordinalOf(set: string, name: string): number | undefined {
  if (!name.startsWith(`${set}-`)) return undefined;
  const tail = name.slice(set.length + 1);
  return /^(0|[1-9][0-9]{0,6})$/.test(tail) ? Number(tail) : undefined;
}

/** JSON with object keys sorted, so that equal templates hash equally whatever order the API server returned. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

// The alphabet Kubernetes uses for hashes in names: no vowels (no words), no look-alikes.
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a (32 bit) of the template and the collision count, written in the safe alphabet. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = stableJson(template) + (collisionCount ? `#${collisionCount}` : '');
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = '';
  do {
    out = SAFE[h % SAFE.length] + out;
    h = Math.floor(h / SAFE.length);
  } while (h > 0);
  return out;
}

export function revisionName(set: string, hash: string): string {
  return `${set}-${hash}`;
}

/** A LabelSelector in the string form `kubectl get -l` and the scale subresource take. */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In': parts.push(`${e.key} in (${values})`); break;
      case 'NotIn': parts.push(`${e.key} notin (${values})`); break;
      case 'Exists': parts.push(e.key); break;
      case 'DoesNotExist': parts.push(`!${e.key}`); break;
    }
  }
  return parts.join(',');
}

/** True when the selector selects nothing-in-particular (matches every object): refused, like a StatefulSet's. */
export function selectorIsEmpty(sel: LabelSelector | undefined): boolean {
  return !Object.keys(sel?.matchLabels ?? {}).length && !(sel?.matchExpressions ?? []).length;
}
