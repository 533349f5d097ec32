/**
 * The one way every controller reports: a {@link StatusDraft} (a working
 * copy of an object's status that a reconcile edits) and
 * {@link writeStatus}, which writes it once, only when it differs from what
 * is stored, with every condition message redacted first. An idle
 * reconciler makes no API writes.
 *
 * Intent before side effects: a controller that is about to do something
 * it must not do twice (create a VM, take a snapshot, prepare an image)
 * records that intent with `unlessStale`, so the write is refused when the
 * stored status is no longer the one the decision was made from (another
 * worker, or our own write the cache has not seen yet).
 */
import { isDeepStrictEqual } from 'node:util';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { KubeClient } from './client';
import { getCondition, setCondition, type Condition } from './conditions';
import type { EventRecorder } from './events';
import { updateStatus } from './objects';
import type { ResourceType } from './resources';

export interface StatusObject<S> {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  status?: S;
}

/** `True`/`False` from a boolean, or `Unknown`. */
export type ConditionValue = boolean | 'Unknown';

const asStatus = (v: ConditionValue): Condition['status'] => (v === 'Unknown' ? 'Unknown' : v ? 'True' : 'False');

export class StatusDraft<S extends object> {
  status: S;
  /** The stored status this draft started from, or last wrote (writeStatus re-bases it). */
  base: S;

  constructor(readonly obj: StatusObject<S>) {
    this.base = structuredClone(obj.status ?? ({} as S));
    this.status = structuredClone(this.base);
  }

  private get conditions(): Condition[] | undefined {
    return (this.status as { conditions?: Condition[] }).conditions;
  }

  getCondition(type: string): Condition | undefined {
    return getCondition(this.conditions, type);
  }

  /** Sets condition `type`; lastTransitionTime moves only when its status does. */
  condition(type: string, value: ConditionValue, reason: string, message: string): void {
    (this.status as { conditions?: Condition[] }).conditions = setCondition(this.conditions, {
      type,
      status: asStatus(value),
      reason,
      message,
      observedGeneration: this.obj.metadata?.generation,
    });
  }

  /** True when condition `type` changes status or reason with this value (Events fire on transitions only). */
  conditionChanges(type: string, value: ConditionValue, reason: string): boolean {
    const c = this.getCondition(type);
    return !c || c.status !== asStatus(value) || c.reason !== reason;
  }

  /**
   * Sets the condition and, when it is a transition, records an Event:
   * a Warning when the condition is not True, else a Normal one (unless
   * `normal` is false).
   */
  report(events: Pick<EventRecorder, 'event'>, type: string, value: ConditionValue, reason: string, message: string, opts: { normal?: boolean } = {}): void {
    if (this.conditionChanges(type, value, reason)) {
      if (value !== true) events.event(this.obj, 'Warning', reason, message);
      else if (opts.normal !== false) events.event(this.obj, 'Normal', reason, message);
    }
    this.condition(type, value, reason, message);
  }

  /** Drops top-level fields set to undefined or "" so they compare equal to absent ones. */
  normalized(): S {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.status)) if (v !== undefined && v !== '') out[k] = v;
    return out as S;
  }

  changed(): boolean {
    return !isDeepStrictEqual(this.normalized(), this.obj.status ?? {});
  }
}

export interface WriteStatusOptions {
  /** Applied to every condition message (and `status.message`) before the write. */
  readonly redact?: (message: string) => string;
  /**
   * Refuse the write (result false) when the stored status differs from
   * the draft's base: the record of an intent must not overwrite what it
   * did not see.
   */
  readonly unlessStale?: boolean;
}

/**
 * Writes the draft when it differs from `obj.status`; updates `obj` in
 * place (status, resourceVersion). False only when `unlessStale` refused it.
 */
export async function writeStatus<S extends object>(client: KubeClient, kind: ResourceType, obj: StatusObject<S>, draft: StatusDraft<S>, opts: WriteStatusOptions = {}): Promise<boolean> {
  const st = draft.status as { conditions?: Condition[]; message?: string };
  if (opts.redact) {
    for (const c of st.conditions ?? []) c.message = opts.redact(c.message);
    if (typeof st.message === 'string') st.message = opts.redact(st.message);
  }
  if (!draft.changed()) return true;
  const status = draft.normalized();
  let stale = false;
  const written = await updateStatus<StatusObject<S>>(client, kind, obj, (fresh) => {
    if (opts.unlessStale && !isDeepStrictEqual(fresh.status ?? {}, draft.base)) {
      stale = true;
      return false;
    }
    fresh.status = structuredClone(status);
  });
  // Refused or not, `obj` now holds what the server has (a refusal may have re-read it).
  obj.status = written.status ?? (stale ? obj.status : status);
  // What we wrote is now the stored status: a later unlessStale write of the same reconcile compares with it.
  if (!stale) draft.base = structuredClone(obj.status ?? ({} as S));
  if (written.metadata?.resourceVersion) obj.metadata = { ...obj.metadata, resourceVersion: written.metadata.resourceVersion };
  return !stale;
}
