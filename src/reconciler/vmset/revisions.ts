/**
 * A VMSet's template history as apps/v1 ControllerRevisions (what
 * `kubectl rollout history` reads for a StatefulSet): one per distinct
 * template, named `<set>-<hash>`, numbered in the order they became the
 * update revision. Reapplying an old template (a rollback) finds its
 * revision again and renumbers it as the newest; a name taken by a
 * revision with other data bumps `status.collisionCount` and rehashes.
 */
import type { VMSet } from '../../generated/vm-set';
import { CoreResources, isAlreadyExists, isNotFound, type Informer, type KubeClient } from '../runtime';
import { REVISION_LABEL, SET_LABEL, revisionName, stableJson, templateHash } from './naming';

export interface ControllerRevision {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[]; creationTimestamp?: string; deletionTimestamp?: string };
  data?: { template?: NonNullable<VMSet['spec']>['template'] };
  revision?: number;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The owner reference a VMSet puts on what it makes (members, revisions). */
export function controllerRef(set: VMSet): OwnerReference {
  return { apiVersion: set.apiVersion ?? 'infra.virtrigaud.io/v1beta1', kind: 'VMSet', name: set.metadata!.name!, uid: set.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

export function isControlledBy(obj: { metadata?: { ownerReferences?: OwnerReference[] } } | undefined, set: VMSet): boolean {
  return !!obj?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === set.metadata?.uid);
}

/** The set's revisions from the cache, oldest number first. */
export function revisionsOf(cache: Informer<ControllerRevision>, set: VMSet): ControllerRevision[] {
  return cache
    .byIndex('set', `${set.metadata?.namespace}/${set.metadata?.name}`)
    .filter((r) => isControlledBy(r, set))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}

const sameTemplate = (r: ControllerRevision | undefined, template: unknown) => !!r && stableJson(r.data?.template) === stableJson(template);

export interface UpdateRevision {
  readonly name: string;
  readonly collisionCount: number;
  /** True when the revision was created or renumbered by this call. */
  readonly changed: boolean;
}

/**
 * Finds or makes the revision of the set's current template and makes it
 * the highest-numbered one.
 */
export async function ensureUpdateRevision(client: KubeClient, cache: Informer<ControllerRevision>, set: VMSet, collisionCount: number): Promise<UpdateRevision> {
  const ns = set.metadata!.namespace!;
  const template = set.spec!.template;
  const known = revisionsOf(cache, set);
  const top = known.reduce((n, r) => Math.max(n, r.revision ?? 0), 0);
  for (let cc = collisionCount; cc < collisionCount + 100; cc++) {
    const name = revisionName(set.metadata!.name!, templateHash(template, cc));
    let existing: ControllerRevision | undefined = cache.get(`${ns}/${name}`);
    if (!existing) {
      try {
        const created = await client.create<ControllerRevision>(CoreResources.controllerRevisions, {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: { name, namespace: ns, labels: { [SET_LABEL]: set.metadata!.name!, [REVISION_LABEL]: name }, ownerReferences: [controllerRef(set)] },
          data: { template },
          revision: top + 1,
        });
        return { name: created.metadata!.name!, collisionCount: cc, changed: true };
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        existing = await client.get<ControllerRevision>(CoreResources.controllerRevisions, ns, name);
        if (!existing) throw e;
      }
    }
    if (sameTemplate(existing, template) && isControlledBy(existing, set)) {
      if ((existing.revision ?? 0) >= top) return { name, collisionCount: cc, changed: false };
      // A rollback: the old template is the newest revision again.
      await client.patch(CoreResources.controllerRevisions, ns, name, { revision: top + 1 }, { type: 'merge' });
      return { name, collisionCount: cc, changed: true };
    }
    // Same hash, other data (or someone else's object): a collision.
  }
  throw new Error(`no free revision name for VMSet ${ns}/${set.metadata!.name} after 100 hash collisions`);
}

/**
 * Deletes the oldest revisions beyond `revisionHistoryLimit` that neither
 * a member uses nor the set names as current or update revision.
 */
export async function pruneRevisions(client: KubeClient, cache: Informer<ControllerRevision>, set: VMSet, inUse: ReadonlySet<string>): Promise<string[]> {
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  const idle = revisionsOf(cache, set).filter((r) => !inUse.has(r.metadata!.name!) && !r.metadata?.deletionTimestamp);
  const doomed = idle.slice(0, Math.max(0, idle.length - limit));
  for (const r of doomed) {
    try {
      await client.delete(CoreResources.controllerRevisions, r.metadata!.namespace!, r.metadata!.name!, { preconditions: { uid: r.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return doomed.map((r) => r.metadata!.name!);
}
