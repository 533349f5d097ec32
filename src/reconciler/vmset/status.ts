/**
 * A VMSet's status from its members and the plan just carried out: the
 * replica counts (what `kubectl get vmset` and the scale subresource
 * show), the revisions, per-member status, update progress and the
 * conditions Ready, Progressing and ReplicaFailure.
 */
import type { VMSet, VMSetStatus } from '../../generated/vm-set';
import { rfc3339, type EventRecorder, type StatusDraft } from '../runtime';
import type { MemberView } from './members';
import type { Plan, UpdateStrategyType } from './plan';

/** VM Ready reasons that mean the member failed (not merely still converging). */
const FAILED_REASONS = new Set(['ProviderError', 'InvalidSpec', 'ReferenceNotPermitted', 'IdentityMismatch']);

const readyOf = (m: MemberView) => m.vm?.status?.conditions?.find((c) => c.type === 'Ready');

export interface StatusInput {
  readonly set: VMSet;
  readonly members: readonly MemberView[];
  readonly plan: Plan<MemberView>;
  readonly failures: readonly string[];
  readonly updateRevision: string;
  readonly currentRevision: string;
  readonly strategy: UpdateStrategyType;
}

export function reportStatus(draft: StatusDraft<VMSetStatus>, events: Pick<EventRecorder, 'event'>, x: StatusInput): void {
  const st = draft.status;
  const spec = x.set.spec!;
  const desired = spec.replicas ?? 1;
  const start = spec.ordinals?.start ?? 0;
  const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  const live = x.members.filter((m) => m.ordinal >= start && m.ordinal < start + desired);
  const count = (f: (m: MemberView) => boolean) => x.members.filter(f).length;

  st.replicas = x.members.length;
  st.readyReplicas = count((m) => m.ready);
  st.availableReplicas = count((m) => m.available);
  st.updatedReplicas = count((m) => m.revision === x.updateRevision);
  st.updateRevision = x.updateRevision;

  const settled = !x.plan.create.length && !x.plan.delete.length && !x.plan.reconfigure.length;
  const complete = live.length === desired && x.members.length === desired && live.every((m) => m.revision === x.updateRevision && m.available);
  // The update is done when every member is at the update revision and available; the current revision then moves.
  const currentRevision = complete ? x.updateRevision : x.currentRevision;
  st.currentRevision = currentRevision;
  st.currentReplicas = count((m) => m.revision === currentRevision);

  st.vmStatus = x.members.map((m) => {
    const ready = readyOf(m);
    return {
      name: m.name,
      ...(m.vm?.status?.phase ? { phase: m.vm.status.phase } : m.vm ? {} : { phase: 'Pending' as const }),
      ready: m.ready,
      ...(m.revision ? { revision: m.revision } : {}),
      ...(m.vm?.metadata?.creationTimestamp ? { creationTime: m.vm.metadata.creationTimestamp as unknown as string } : {}),
      ...(ready?.lastTransitionTime ? { lastUpdateTime: ready.lastTransitionTime } : {}),
      ...(ready?.message ? { message: ready.message } : {}),
    };
  });

  const failed = x.members.filter((m) => {
    const c = readyOf(m);
    return c?.status === 'False' && FAILED_REASONS.has(c.reason);
  });
  updateProgress(st, x, live, failed, currentRevision, partition);

  // Conditions. The reason says what the set is doing now.
  const outdated = live.filter((m) => m.revision !== x.updateRevision);
  const scalingDown = x.members.length > live.length;
  const reason = live.length < desired ? 'ScalingUp' : scalingDown ? 'ScalingDown' : outdated.length ? 'UpdatingReplicas' : st.readyReplicas < desired ? 'CreatingReplicas' : 'AllReplicasReady';
  const waiting = x.plan.waiting.length ? `; ${x.plan.waiting.join('; ')}` : '';
  const counts = `${st.readyReplicas}/${desired} ready, ${st.updatedReplicas} at revision ${x.updateRevision}`;
  if (complete) {
    draft.report(events, 'Ready', true, 'AllReplicasReady', `${desired} of ${desired} members ready and available at revision ${x.updateRevision}`);
    draft.condition('Progressing', false, 'AllReplicasReady', 'nothing to do');
  } else {
    const paused = settled && !x.plan.waiting.length && outdated.length > 0 && (x.strategy === 'OnDelete' || outdated.every((m) => m.ordinal < partition));
    draft.condition('Ready', false, reason, `${counts}${waiting}`);
    draft.condition('Progressing', !paused, paused ? 'UpdatePaused' : reason, paused ? pausedMessage(x.strategy, partition, outdated.length) : `${counts}${waiting}`);
  }
  if (x.failures.length || failed.length) {
    const msg = [...x.failures, ...failed.map((m) => `VirtualMachine ${m.name}: ${readyOf(m)?.message ?? 'failed'}`)].join('; ');
    draft.report(events, 'ReplicaFailure', true, x.failures.length ? 'FailedCreate' : 'ProviderError', msg);
  } else {
    draft.condition('ReplicaFailure', false, 'NoFailures', 'no member failed');
  }
}

function pausedMessage(strategy: UpdateStrategyType, partition: number, n: number): string {
  return strategy === 'OnDelete'
    ? `OnDelete: ${n} member(s) take the update revision when they are deleted`
    : `partition ${partition}: ${n} member(s) with a lower ordinal stay at the current revision`;
}

/** status.updateStatus: only while, and after, a template change rolls out. */
function updateProgress(st: VMSetStatus, x: StatusInput, live: readonly MemberView[], failed: readonly MemberView[], currentRevision: string, partition: number): void {
  const prev = st.updateStatus;
  const pending = live.filter((m) => m.revision !== x.updateRevision).map((m) => m.name);
  const updated = live.filter((m) => m.revision === x.updateRevision).map((m) => m.name);
  if (currentRevision === x.updateRevision) {
    if (prev && prev.phase !== 'Completed') st.updateStatus = { ...prev, phase: 'Completed', pendingVMs: [], updatedVMs: updated, completionTime: rfc3339(), message: `all members at revision ${x.updateRevision}` };
    return;
  }
  const restarted = !prev || prev.phase === 'Completed';
  const waitingOnDelete = x.strategy === 'OnDelete';
  const partitioned = x.strategy === 'RollingUpdate' && pending.length > 0 && live.filter((m) => m.ordinal >= partition).every((m) => m.revision === x.updateRevision);
  const phase = failed.length && pending.length ? 'Failed' : waitingOnDelete ? 'Pending' : partitioned ? 'Paused' : 'InProgress';
  st.updateStatus = {
    phase,
    startTime: restarted ? rfc3339() : prev?.startTime ?? rfc3339(),
    pendingVMs: pending.slice(0, 1000),
    updatedVMs: updated.slice(0, 1000),
    ...(failed.length ? { failedVMs: failed.slice(0, 1000).map((m) => ({ name: m.name, reason: readyOf(m)?.reason ?? 'Failed', message: readyOf(m)?.message ?? '', ...(readyOf(m)?.lastTransitionTime ? { lastAttempt: readyOf(m)!.lastTransitionTime } : {}) })) } : {}),
    message: `${updated.length} of ${live.length} member(s) at revision ${x.updateRevision}${phase === 'Paused' ? ` (partition ${partition})` : ''}`,
  };
}
