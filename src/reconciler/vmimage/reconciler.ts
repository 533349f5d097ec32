/**
 * The VMImage reconcile function: prepares the image once on each Provider
 * whose VMs use it (./targets.ts) with ImagePrepare, records the result per
 * Provider in `status.providerStatus`, and sums it up in `phase`, `ready`,
 * `availableOn` and the conditions Ready and Importing. VMs wait for their
 * Provider's entry before they are created (imageGate in ./targets.ts).
 *
 * Per Provider and generation: the intent (phase Importing) is written
 * before the first ImagePrepare, refused on a stale view; ImagePrepare is
 * idempotent by target name, so a retry after a crash finds the image
 * rather than importing it twice. `prepare.onMissing` decides what an
 * absent image (NotFound) means, `prepare.retries` bounds failed attempts
 * (with backoff), `prepare.timeout` bounds one attempt and its task. A
 * provider without ImagePrepare (Unimplemented, or no supportsImageImport)
 * is Deferred: it prepares the image when it creates the VM.
 */
import type { Provider as ProviderObject } from '../../generated/provider';
import type { VMImage, VMImageStatus } from '../../generated/vm-image';
import { isProviderError, type CallOptions, type ImagePrepareResponse, type Provider } from '../../providers/provider';
import type { ControllerDeps } from '../deps';
import { durationMs } from '../duration';
import { Kinds } from '../kinds';
import { OwnWrites, rfc3339, StatusDraft, type Result } from '../runtime';
import { pollTask } from '../task';
import { prepareTargets, targetName, type ImageEntry } from './targets';

type Draft = StatusDraft<VMImageStatus>;
type Phase = NonNullable<ImageEntry['phase']>;

export interface VmImageTiming {
  /** How often a task or an absent image (onMissing Wait) is looked at again. @default 5 s / 30 s */
  readonly pollMs: number;
  readonly waitMs: number;
  /** First retry after a failed attempt; doubles per attempt up to maxBackoffMs. @default 2 s, 5 min */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

const DEFAULT_TIMING: VmImageTiming = { pollMs: 5_000, waitMs: 30_000, backoffMs: 2_000, maxBackoffMs: 300_000 };
const DONE: readonly Phase[] = ['Ready', 'Deferred', 'Failed'];

export class VmImageReconciler {
  private readonly timing: VmImageTiming;
  /** When a failed attempt may be retried, by `uid/entry` (in memory: after a restart the retry comes at once). */
  private readonly retryAt = new Map<string, number>();
  /** ImagePrepare calls running, and results not taken yet, by `uid/entry` (see prepareCall). */
  private readonly inflight = new Set<string>();
  private readonly outcomes = new Map<string, { name: string; res: ImagePrepareResponse } | { name: string; error: unknown }>();
  /** Wakes an image (set by the controller: its work queue). */
  enqueue?: (key: string) => void;
  /** Our last status write per image, used while the cache still shows an older one (a second ImagePrepare would follow). */
  private readonly ownWrites = new OwnWrites<VMImageStatus>();

  constructor(private readonly o: ControllerDeps & { readonly timing?: Partial<VmImageTiming> }) {
    this.timing = { ...DEFAULT_TIMING, ...o.timing };
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Result | void> {
    const cached = this.o.informers.images.get(key);
    if (!cached) {
      this.ownWrites.forget(key);
      return;
    }
    const image = structuredClone(cached);
    this.ownWrites.apply(key, image);
    const gen = image.metadata?.generation;
    const draft = new StatusDraft<VMImageStatus>(image);
    const entries = (draft.status.providerStatus ??= {});
    const targets = prepareTargets(image, this.o.informers);
    const now = Date.now();

    // What each target needs now: nothing (done for this generation), a poll of its task, or an attempt.
    const due: [string, ProviderObject][] = [];
    let wake: number | undefined;
    const later = (ms: number) => (wake = Math.min(wake ?? ms, ms));
    for (const [k, provider] of targets) {
      const e = entries[k];
      if (e?.observedGeneration === gen && e.phase && DONE.includes(e.phase)) continue;
      const at = this.retryAt.get(`${image.metadata?.uid}/${k}`) ?? 0;
      if (e?.observedGeneration === gen && !e.prepareTaskRef && at > now) later(at - now);
      else due.push([k, provider]);
    }

    // The intent, once per Provider and generation, before anything is imported.
    const starting = due.filter(([k]) => entries[k]?.observedGeneration !== gen);
    if (starting.length) {
      for (const [k] of starting) {
        entries[k] = { available: false, phase: 'Importing', attempts: 0, observedGeneration: gen, lastUpdated: rfc3339(), message: `preparing as ${targetName(image)}` };
        this.o.events.event(image, 'Normal', 'Importing', `preparing the image on Provider ${k} as ${targetName(image)}`);
      }
      draft.status.lastPrepareTime = rfc3339();
      summarize(draft, targets);
      if (!(await this.write(image, draft, { unlessStale: true }))) {
        this.o.logger.debug('prepare intent refused: the stored status moved on; looking again', { object: key });
        return { requeue: true };
      }
    }

    const outcomes = await Promise.all(due.map(([k, provider]) => this.prepareOn(image, draft, k, provider, signal)));
    for (const ms of outcomes) if (ms !== undefined) later(ms);
    summarize(draft, targets);
    await this.write(image, draft);
    return wake !== undefined ? { requeueAfterMs: Math.max(wake, 50) } : undefined;
  }

  /** One attempt (or one look at its task) on one Provider; the delay before the next look, if one is needed. */
  private async prepareOn(image: VMImage, draft: Draft, k: string, providerObj: ProviderObject, signal: AbortSignal): Promise<number | undefined> {
    const entry = draft.status.providerStatus![k]!;
    const prep = image.spec?.prepare;
    const timeoutMs = durationMs(prep?.timeout, 30 * 60_000);
    const call: CallOptions = { signal, timeoutMs };
    if (providerObj.status?.reportedCapabilities?.supportsImageImport === false) {
      return this.settle(image, entry, k, 'Deferred', `Provider ${k} has no ImagePrepare: it prepares the image when it creates a VM`);
    }
    let provider: Provider;
    try {
      provider = await this.o.connections.get(providerObj);
    } catch (err) {
      // Not counted as an attempt: the Provider itself is not ready (its own status says why).
      this.update(image, entry, entry.phase ?? 'Importing', `waiting for Provider ${k}: ${(err as Error).message}`);
      return this.timing.pollMs;
    }
    try {
      if (entry.prepareTaskRef) {
        const st = await pollTask(provider, entry.prepareTaskRef, call);
        const started = Date.parse(entry.lastUpdated ?? '') || Date.now();
        if (!st.done && Date.now() - started < timeoutMs) return this.timing.pollMs;
        const task = entry.prepareTaskRef;
        entry.prepareTaskRef = undefined;
        if (!st.done) return this.failed(image, entry, k, `task ${task} did not finish within spec.prepare.timeout ${prep?.timeout ?? '30m'}`);
        if (st.error) return this.failed(image, entry, k, `task ${task}: ${st.error}`);
        return this.settle(image, entry, k, 'Ready', `prepared as ${entry.id || targetName(image)}`);
      }
      const res = await this.prepareCall(image, k, provider, call);
      if (!res) return undefined; // still running: its end wakes the image
      entry.id = res.preparedImageId || undefined;
      entry.path = res.preparedImagePath || undefined;
      if (res.task?.id) {
        entry.prepareTaskRef = res.task.id;
        this.update(image, entry, 'Importing', `task ${res.task.id} in progress`);
        return this.timing.pollMs;
      }
      return this.settle(image, entry, k, 'Ready', `prepared as ${res.preparedImageId || res.preparedImagePath || targetName(image)}`);
    } catch (err) {
      const message = (err as Error).message;
      if (isProviderError(err, 'Unimplemented')) return this.settle(image, entry, k, 'Deferred', `Provider ${k} prepares the image when it creates a VM (${message})`);
      if (isProviderError(err, 'NotFound')) {
        const onMissing = prep?.onMissing ?? 'Import';
        if (onMissing === 'Wait') {
          this.update(image, entry, 'Waiting', `waiting for the image to be provided (spec.prepare.onMissing Wait): ${message}`);
          return this.timing.waitMs;
        }
        if (onMissing === 'Fail') return this.settle(image, entry, k, 'Failed', `the image is missing and spec.prepare.onMissing is Fail: ${message}`, 'MissingOnProvider');
      }
      // Retrying cannot help until the spec changes; a retry of the rest is bounded by spec.prepare.retries.
      if (isProviderError(err, 'InvalidSpec')) return this.settle(image, entry, k, 'Failed', message);
      if (isProviderError(err, 'Retryable') || isProviderError(err, 'Unauthenticated')) {
        // The category stays in the words: a VM waiting for the image shows that its Provider refuses the login.
        this.update(image, entry, entry.phase ?? 'Importing', `${message} (${err.category})`);
        return this.timing.pollMs;
      }
      return this.failed(image, entry, k, message);
    }
  }

  /**
   * ImagePrepare runs beside the reconcile, not inside it: a download of
   * minutes on one Provider must not hold the image's other Providers (one
   * reconcile per key at a time). Undefined while it runs; its end wakes
   * the image, whose next reconcile takes the result (or rethrows its error).
   */
  private async prepareCall(image: VMImage, k: string, provider: Provider, call: CallOptions): Promise<ImagePrepareResponse | undefined> {
    const id = `${image.metadata?.uid}/${k}`;
    const name = targetName(image);
    const done = this.outcomes.get(id);
    if (done && !this.inflight.has(id)) {
      this.outcomes.delete(id);
      // A result for another source (the spec changed meanwhile) is dropped; the new one is prepared.
      if (done.name === name) {
        if ('error' in done) throw done.error;
        return done.res;
      }
    }
    if (this.inflight.has(id)) return undefined;
    const key = `${image.metadata?.namespace}/${image.metadata?.name}`;
    // No storage hint from the tenant's spec: where an image may go is the provider's (and its operator's) choice.
    const req = { imageJson: JSON.stringify(image.spec ?? {}), targetName: name, storageHint: '' };
    this.inflight.add(id);
    void provider.imagePrepare(req, call).then(
      (res) => this.outcomes.set(id, { name, res }),
      (error: unknown) => this.outcomes.set(id, { name, error }),
    ).finally(() => {
      this.inflight.delete(id);
      this.enqueue?.(key);
    });
    return undefined;
  }

  /** A failed attempt: retried after a backoff while `prepare.retries` allows, then Failed. */
  private failed(image: VMImage, entry: ImageEntry, k: string, message: string): number | undefined {
    const retries = image.spec?.prepare?.retries ?? 3;
    entry.attempts = (entry.attempts ?? 0) + 1;
    if (entry.attempts > retries) return this.settle(image, entry, k, 'Failed', `${message} (${entry.attempts} attempts; spec.prepare.retries is ${retries})`);
    const delay = Math.min(this.timing.backoffMs * 2 ** (entry.attempts - 1), this.timing.maxBackoffMs);
    this.retryAt.set(`${image.metadata?.uid}/${k}`, Date.now() + delay);
    this.update(image, entry, 'Importing', `attempt ${entry.attempts} failed: ${message}; retrying in ${Math.round(delay / 1000)}s`);
    return delay;
  }

  /** A final state for this generation, with its Event. */
  private settle(image: VMImage, entry: ImageEntry, k: string, phase: 'Ready' | 'Deferred' | 'Failed', message: string, reason?: string): undefined {
    this.retryAt.delete(`${image.metadata?.uid}/${k}`);
    entry.available = phase === 'Ready';
    this.update(image, entry, phase, message, reason ?? (phase === 'Failed' ? 'PrepareFailed' : phase === 'Ready' ? 'Prepared' : undefined));
    if (phase === 'Failed') this.o.events.event(image, 'Warning', entry.reason!, `Provider ${k}: ${entry.message}`);
    else if (phase === 'Ready') this.o.events.event(image, 'Normal', 'Prepared', `prepared on Provider ${k}: ${entry.message}`);
    return undefined;
  }

  /** Sets phase and message (redacted: a provider's words may quote its credentials); lastUpdated moves only with them. */
  private update(image: VMImage, entry: ImageEntry, phase: Phase, message: string, reason?: string): void {
    const redacted = this.o.events.redact(image, message);
    if (entry.phase !== phase || entry.message !== redacted) entry.lastUpdated = rfc3339();
    entry.phase = phase;
    entry.message = redacted;
    entry.reason = reason;
  }

  private write(image: VMImage, draft: Draft, opts: { unlessStale?: boolean } = {}): Promise<boolean> {
    const key = `${image.metadata?.namespace}/${image.metadata?.name}`;
    return this.ownWrites.write(this.o.client, Kinds.VMImage, key, image, draft, { redact: (m) => this.o.events.redact(image, m), ...opts });
  }
}

/** phase, ready, availableOn, message, observedGeneration and the conditions, from the entries of this generation. */
export function summarize(draft: Draft, targets: ReadonlyMap<string, ProviderObject>): void {
  const st = draft.status;
  const gen = draft.obj.metadata?.generation;
  const all = Object.entries(st.providerStatus ?? {});
  const current = all.filter(([k, e]) => e.observedGeneration === gen || !targets.has(k));
  const pending = [...targets.keys()].filter((k) => st.providerStatus?.[k]?.observedGeneration !== gen);
  const named = (phase: Phase) => current.filter(([, e]) => e.phase === phase).map(([k]) => k);
  st.availableOn = all.filter(([, e]) => e.available).map(([k]) => k).sort();
  if (!st.availableOn.length) st.availableOn = undefined;
  st.ready = all.some(([, e]) => e.available);
  const failed = named('Failed');
  const importing = [...named('Importing'), ...named('Pending'), ...pending];
  const waiting = named('Waiting');
  const ready = [...named('Ready'), ...named('Deferred')];
  const list = (ks: string[]) => ks.map((k) => `${k}: ${st.providerStatus?.[k]?.message ?? 'not started'}`).join('; ');
  if (failed.length) {
    const reason = st.providerStatus?.[failed[0]!]?.reason ?? 'PrepareFailed';
    st.phase = 'Failed';
    st.message = `not prepared on Provider ${list(failed)}`;
    draft.condition('Ready', false, reason, st.message);
  } else if (importing.length) {
    st.phase = 'Importing';
    st.message = `preparing on Provider ${list(importing)}`;
    draft.condition('Ready', false, 'Importing', st.message);
  } else if (waiting.length) {
    st.phase = 'Pending';
    st.message = `waiting on Provider ${list(waiting)}`;
    draft.condition('Ready', false, 'WaitingForImage', st.message);
  } else if (ready.length) {
    st.phase = 'Ready';
    st.message = `ready on Provider ${list(ready)}`;
    draft.condition('Ready', true, 'Prepared', st.message);
  } else {
    st.phase = 'Pending';
    st.message = 'no VirtualMachine uses this image yet: it is prepared on the Provider of the first one';
    draft.condition('Ready', false, 'NotRequested', st.message);
  }
  if (importing.length) draft.condition('Importing', true, 'Importing', `preparing on Provider ${importing.join(', ')}`);
  else draft.condition('Importing', false, 'Prepared', 'no preparation in progress');
  st.observedGeneration = gen;
}
