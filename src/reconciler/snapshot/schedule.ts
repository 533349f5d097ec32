/**
 * A VMSnapshot with `spec.schedule.enabled` is a schedule, as a CronJob is
 * for Jobs: it takes no snapshot itself but creates a child VMSnapshot
 * `<name>-<unix minutes>` (`-<unix seconds>` for schedules finer than a
 * minute) each time the schedule is due, owned by it and labelled with
 * its name, with the same vmRef, snapshotConfig, retentionPolicy and
 * metadata. Like a CronJob:
 *
 * - only the latest due time is run after a pause (no burst of missed ones);
 * - `concurrencyPolicy`: Forbid skips a run while a child is still being
 *   taken, Replace deletes that child first, Allow takes it anyway;
 * - `suspend` stops new runs; `successfulJobsHistoryLimit` /
 *   `failedJobsHistoryLimit` keep that many Ready / Failed children;
 * - deleting the schedule deletes its children (unless `--cascade=orphan`).
 */
import type { VMSnapshot, VMSnapshotStatus } from '../../generated/vm-snapshot';
import type { ControllerDeps } from '../deps';
import { Kinds } from '../kinds';
import { isAlreadyExists, isNotFound, rfc3339, type Result, type StatusDraft } from '../runtime';
import { parseSchedule } from './cron';

export const SCHEDULE_LABEL = 'vmsnapshot.infra.virtrigaud.io/schedule';
export const SCHEDULED_AT_ANNOTATION = 'vmsnapshot.infra.virtrigaud.io/scheduled-at';

const TERMINAL = new Set(['Ready', 'Failed', 'Expired']);

export function isSchedule(snap: VMSnapshot): boolean {
  return snap.spec?.schedule?.enabled === true;
}

/** The children of a schedule (controller reference with its uid), newest scheduled first. */
export function childrenOf(o: ControllerDeps, parent: VMSnapshot): VMSnapshot[] {
  const ns = parent.metadata?.namespace;
  return o.informers.snapshots
    .byIndex('vm', `${ns}/${parent.spec?.vmRef?.name}`)
    .filter((s) => s.metadata?.labels?.[SCHEDULE_LABEL] === parent.metadata?.name && s.metadata?.ownerReferences?.some((r) => r.controller && r.uid === parent.metadata?.uid))
    .sort((a, b) => scheduledAt(b) - scheduledAt(a));
}

const scheduledAt = (s: VMSnapshot) => Date.parse(s.metadata?.annotations?.[SCHEDULED_AT_ANNOTATION] ?? '') || 0;

export async function reconcileSchedule(o: ControllerDeps, parent: VMSnapshot, draft: StatusDraft<VMSnapshotStatus>, write: () => Promise<unknown>): Promise<Result | void> {
  const spec = parent.spec!;
  const sch = spec.schedule!;
  const ns = parent.metadata!.namespace!;
  let schedule;
  try {
    if (!sch.cronSpec) throw new Error('Required value: a schedule needs a cronSpec');
    schedule = parseSchedule(sch.cronSpec, sch.timezone || 'UTC');
  } catch (e) {
    draft.report(o.events, 'Ready', false, 'InvalidSpec', `spec.schedule.cronSpec: Invalid value: ${(e as Error).message}`);
    draft.status.phase = 'Failed';
    await write();
    return;
  }
  const now = Date.now();
  const children = childrenOf(o, parent);
  const active = children.filter((c) => !TERMINAL.has(c.status?.phase ?? '') && !c.metadata?.deletionTimestamp);
  const last = Date.parse(draft.status.lastScheduleTime ?? '') || Date.parse(String(parent.metadata?.creationTimestamp ?? '')) || now;
  // The latest due time in (last, now]: after a pause, one run, not one per missed time.
  let due: number | undefined;
  for (let t = schedule.next(last), i = 0; t !== undefined && t <= now && i < 100_000; t = schedule.next(t), i++) due = t;

  if (due !== undefined && !sch.suspend) {
    const policy = sch.concurrencyPolicy ?? 'Forbid';
    draft.status.lastScheduleTime = rfc3339(new Date(due));
    if (active.length && policy === 'Forbid') {
      o.events.event(parent, 'Normal', 'Skipped', `snapshot due at ${rfc3339(new Date(due))} skipped: ${active.map((c) => c.metadata!.name).join(', ')} still in progress (concurrencyPolicy Forbid)`);
    } else {
      if (policy === 'Replace') for (const c of active) await deleteChild(o, c, 'replaced by the next scheduled snapshot (concurrencyPolicy Replace)');
      const name = `${parent.metadata!.name}-${Math.floor(due / 60_000) * 60_000 === due ? due / 60_000 : Math.floor(due / 1000)}`;
      try {
        await o.client.create<VMSnapshot>(Kinds.VMSnapshot, {
          apiVersion: parent.apiVersion ?? 'infra.virtrigaud.io/v1beta1',
          kind: 'VMSnapshot',
          metadata: {
            name,
            namespace: ns,
            labels: { [SCHEDULE_LABEL]: parent.metadata!.name! },
            annotations: { [SCHEDULED_AT_ANNOTATION]: rfc3339(new Date(due)) },
            ownerReferences: [{ apiVersion: parent.apiVersion ?? 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', name: parent.metadata!.name!, uid: parent.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
          },
          spec: {
            vmRef: spec.vmRef,
            ...(spec.snapshotConfig ? { snapshotConfig: { ...spec.snapshotConfig, name: undefined } } : {}),
            ...(spec.retentionPolicy ? { retentionPolicy: spec.retentionPolicy } : {}),
            ...(spec.metadata ? { metadata: spec.metadata } : {}),
          },
        });
        o.events.event(parent, 'Normal', 'SuccessfulCreate', `created VMSnapshot ${name} (due at ${rfc3339(new Date(due))})`);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e; // an earlier attempt made it before its status write
      }
    }
  }

  // History limits, oldest first out.
  const keep = (phase: string, limit: number) => children.filter((c) => c.status?.phase === phase && !c.metadata?.deletionTimestamp).slice(limit);
  for (const c of keep('Ready', sch.successfulJobsHistoryLimit ?? 3)) await deleteChild(o, c, 'beyond schedule.successfulJobsHistoryLimit');
  for (const c of keep('Failed', sch.failedJobsHistoryLimit ?? 1)) await deleteChild(o, c, 'beyond schedule.failedJobsHistoryLimit');

  draft.status.children = children.filter((c) => !c.metadata?.deletionTimestamp).map((c) => ({ name: c.metadata!.name!, uid: c.metadata!.uid! }));
  const next = schedule.next(now);
  if (sch.suspend) draft.condition('Ready', true, 'Suspended', 'schedule suspended: no new snapshots');
  else draft.condition('Ready', true, 'Scheduled', next ? `next snapshot at ${rfc3339(new Date(next))}` : 'the schedule has no further run within five years');
  draft.status.phase = 'Ready';
  await write();
  if (next === undefined || sch.suspend) return;
  return { requeueAfterMs: Math.min(Math.max(next - Date.now(), 50), 3_600_000) };
}

async function deleteChild(o: ControllerDeps, c: VMSnapshot, why: string): Promise<void> {
  try {
    await o.client.delete(Kinds.VMSnapshot, c.metadata!.namespace!, c.metadata!.name!, { preconditions: { uid: c.metadata!.uid } });
    o.events.event(c, 'Normal', 'Deleted', `VMSnapshot ${c.metadata!.name} deleted: ${why}`);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** Deleting a schedule: its children go first, unless the deletion orphans them. True once none is left. */
export async function finalizeSchedule(o: ControllerDeps, parent: VMSnapshot): Promise<boolean> {
  if (parent.metadata?.finalizers?.includes('orphan')) return true;
  const children = childrenOf(o, parent);
  for (const c of children) if (!c.metadata?.deletionTimestamp) await deleteChild(o, c, `its schedule ${parent.metadata!.name} is being deleted`);
  return children.length === 0;
}
