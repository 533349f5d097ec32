/**
 * When a Ready VMSnapshot is removed by the reconciler (`spec.retentionPolicy`):
 *
 * - `maxAge`: at `status.creationTime + maxAge`.
 * - `deleteOnVMDelete` (default true): `gracePeriod` (default 24h) after the
 *   reconciler saw that the VM the snapshot was taken of is gone (condition
 *   `VMAvailable=False/VMDeleted`, whose lastTransitionTime is that moment).
 *   A VM of the same name but another uid is another VM.
 * - `maxCount: N`: once N newer Ready snapshots of the same VM exist.
 * - `preservePinned` (default true): a snapshot with `spec.metadata.pinned`
 *   is never removed by any of these.
 *
 * Removal is a delete of the VMSnapshot (its finalizer then deletes the
 * snapshot on the provider when the VM still exists), after `phase:
 * Expired` and an `Expired` Event say why. `status.expiryTime` shows the
 * planned moment while there is one.
 */
import type { VMSnapshot } from '../../generated/vm-snapshot';
import { durationMs } from '../duration';

export interface RetentionInput {
  readonly snap: VMSnapshot;
  readonly now: number;
  /** When the snapshot's VM was first seen gone (undefined: it exists). */
  readonly vmGoneSince?: number;
  /** Ready snapshots of the same VM created after this one. */
  readonly newerReady: number;
}

export interface RetentionDecision {
  /** Epoch ms at which the snapshot goes; undefined: kept. */
  readonly at?: number;
  /** Why, for the condition and the Event. */
  readonly why?: string;
}

export function retention(x: RetentionInput): RetentionDecision {
  const p = x.snap.spec?.retentionPolicy;
  if (x.snap.spec?.metadata?.pinned && (p?.preservePinned ?? true)) return {};
  const options: { at: number; why: string }[] = [];
  const created = Date.parse(x.snap.status?.creationTime ?? '');
  if (p?.maxAge && !Number.isNaN(created)) {
    options.push({ at: created + durationMs(p.maxAge, 0), why: `older than retentionPolicy.maxAge ${p.maxAge}` });
  }
  if (x.vmGoneSince !== undefined && (p?.deleteOnVMDelete ?? true)) {
    const grace = p?.gracePeriod ?? '24h';
    options.push({ at: x.vmGoneSince + durationMs(grace, 86_400_000), why: `its VirtualMachine was deleted (retentionPolicy.deleteOnVMDelete, gracePeriod ${grace})` });
  }
  if (p?.maxCount && x.newerReady >= p.maxCount) {
    options.push({ at: x.now, why: `${x.newerReady} newer snapshots of the VM exist (retentionPolicy.maxCount ${p.maxCount})` });
  }
  if (!options.length) return {};
  return options.reduce((a, b) => (b.at < a.at ? b : a));
}
