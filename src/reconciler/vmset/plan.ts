/**
 * What a VMSet reconcile does next, as a pure function of the set's spec
 * and its members (StatefulSet semantics, so it can be tested without an
 * API server). The reconciler carries the plan out and calls it again on
 * the next event: level-based, every step safe to repeat.
 *
 * - Ordinals `start .. start+replicas-1` should exist; others are
 *   condemned and deleted, highest first.
 * - OrderedReady: one member at a time, in ordinal order, each waiting for
 *   the ones before it to be available; scale-down one at a time from the
 *   top once the rest is available. Parallel: all at once.
 * - RollingUpdate: outdated members at or above `partition` are replaced
 *   (or reconfigured in place), highest ordinal first, while no more than
 *   `maxUnavailable` members are unavailable; an outdated member that is
 *   already unavailable is replaced without waiting for the budget (so a
 *   broken template can be fixed by a new one).
 * - Recreate: every outdated member is deleted, and members of the new
 *   revision are created only once none of the old ones is left.
 * - OnDelete: members are replaced only when someone deletes them.
 */

export type PodManagementPolicy = 'OrderedReady' | 'Parallel';
export type UpdateStrategyType = 'RollingUpdate' | 'OnDelete' | 'Recreate';

export interface Member {
  readonly name: string;
  readonly ordinal: number;
  /** Revision (ControllerRevision name) the member was made from. */
  readonly revision?: string;
  /** Ready now (VM Ready=True for its current generation). */
  readonly ready: boolean;
  /** Ready for at least minReadySeconds. */
  readonly available: boolean;
  /** Has a deletionTimestamp. */
  readonly deleting: boolean;
}

export interface PlanInput<M extends Member = Member> {
  readonly replicas: number;
  readonly start: number;
  readonly policy: PodManagementPolicy;
  readonly strategy: UpdateStrategyType;
  /** Resolved count (see {@link resolveMaxUnavailable}). */
  readonly maxUnavailable: number;
  readonly partition: number;
  readonly updateRevision: string;
  readonly currentRevision: string;
  readonly members: readonly M[];
  /** Whether an outdated member can take the update revision in place (only reconfigurable fields differ). */
  readonly inPlace: (m: M) => boolean;
}

export interface Plan<M extends Member = Member> {
  readonly create: { ordinal: number; revision: string }[];
  readonly delete: M[];
  /** Outdated members to move to the update revision in place. */
  readonly reconfigure: M[];
  /** Why the plan holds back (OrderedReady waiting, Recreate draining, the update budget spent). */
  readonly waiting: string[];
}

export function plan<M extends Member>(p: PlanInput<M>): Plan<M> {
  const out: Plan<M> = { create: [], delete: [], reconfigure: [], waiting: [] };
  const end = p.start + p.replicas;
  const inRange = (o: number) => o >= p.start && o < end;
  const byOrdinal = new Map(p.members.map((m) => [m.ordinal, m]));
  const live = p.members.filter((m) => inRange(m.ordinal));
  const condemned = p.members.filter((m) => !inRange(m.ordinal)).sort((a, b) => b.ordinal - a.ordinal);
  const ordered = p.policy === 'OrderedReady';
  const outdated = (m: Member) => m.revision !== p.updateRevision;

  // Recreate: the old revision goes entirely before the new one starts.
  const draining = p.strategy === 'Recreate' && live.some(outdated);
  if (draining) {
    for (const m of live) if (outdated(m) && !m.deleting) out.delete.push(m);
    out.waiting.push(`Recreate: waiting for ${live.filter(outdated).length} member(s) of an older revision to be deleted`);
  }

  // Creations, in ordinal order.
  let blocked = draining;
  for (let o = p.start; o < end && !blocked; o++) {
    const m = byOrdinal.get(o);
    if (!m) {
      // Below the partition a member keeps the current revision (as a StatefulSet's pods do).
      const revision = p.strategy === 'RollingUpdate' && o < p.partition ? p.currentRevision || p.updateRevision : p.updateRevision;
      out.create.push({ ordinal: o, revision });
      if (ordered) blocked = true;
    } else if (ordered && (m.deleting || !m.available)) {
      out.waiting.push(`OrderedReady: waiting for ${m.name} to be ${m.deleting ? 'deleted' : 'available'}`);
      blocked = true;
    }
  }

  // Scale-down: highest ordinal first.
  if (condemned.length) {
    if (!ordered) {
      for (const m of condemned) if (!m.deleting) out.delete.push(m);
    } else if (blocked) {
      out.waiting.push('OrderedReady: scale-down waits until every remaining member is available');
    } else {
      const top = condemned[0]!;
      if (top.deleting) out.waiting.push(`OrderedReady: waiting for ${top.name} to be deleted`);
      else out.delete.push(top);
    }
  }

  if (p.strategy !== 'RollingUpdate') return out;
  // Rolling update, highest ordinal first, within the unavailability budget.
  const candidates = live.filter((m) => outdated(m) && !m.deleting && m.ordinal >= p.partition).sort((a, b) => b.ordinal - a.ordinal);
  let unavailable = 0;
  for (let o = p.start; o < end; o++) {
    const m = byOrdinal.get(o);
    if (!m || m.deleting || !m.available) unavailable++;
  }
  let budget = p.maxUnavailable - unavailable;
  for (const m of candidates) {
    const already = !m.available; // replacing it makes nothing less available than it is
    if (!already && budget <= 0) {
      out.waiting.push(`RollingUpdate: ${unavailable} member(s) unavailable (maxUnavailable ${p.maxUnavailable}); ${m.name} waits`);
      break;
    }
    if (!already) {
      budget--;
      unavailable++;
    }
    (p.inPlace(m) ? out.reconfigure : out.delete).push(m);
  }
  return out;
}

/**
 * maxUnavailable as a count: an int as is, a percentage of replicas rounded
 * down (as Deployments do), at least 1, because members keep their names
 * and so cannot surge: with 0 nothing could ever be replaced.
 */
export function resolveMaxUnavailable(v: number | string | undefined, replicas: number): number {
  return Math.max(1, scaled(v ?? '25%', replicas, 'down'));
}

/** An int-or-string count or percentage of `total`, rounded as Deployments round it. */
export function scaled(v: number | string, total: number, round: 'up' | 'down'): number {
  if (typeof v === 'number') return Math.max(0, Math.trunc(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) {
    const x = (Number(m[1]) * total) / 100;
    return round === 'up' ? Math.ceil(x) : Math.floor(x);
  }
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : NaN;
}
