/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's
 * leaderelection, simplified). Needs only get/create/update on leases.
 *
 * A leader must stop acting before its lease can pass to another replica.
 * Others take the lease over once they have seen it unchanged for
 * leaseDuration (measured from when they saw it change), so the leader
 * steps down once renewDeadline (< leaseDuration) has passed since the start
 * of its last successful renewal, however that came about: renewals failing,
 * a renewal request hanging (each carries a timeout that ends at the
 * deadline), or the whole process paused (SIGSTOP, a frozen VM) and resumed.
 * {@link LeaderElector.writeFence} answers the same question for a client
 * that must not write once the deadline has passed, even before the
 * step-down has run.
 */
import type { KubeClient } from './client';
import { isAlreadyExists, isConflict } from './errors';
import { nopLogger, type Logger } from './logger';
import { sleep } from './ratelimit';
import { CoreResources } from './resources';

export interface LeaderElectorOptions extends LeaderElectionTimings {
  namespace: string;
  name: string;
  identity: string;
  logger?: Logger;
  /** Called once leading; `signal` aborts the moment leadership ends (synchronously in the step-down). */
  onStartedLeading: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
}

export interface LeaderElectionTimings {
  /** How long others wait, after they last saw the lease renewed, before taking it over. @default 15000 */
  leaseDurationMs?: number;
  /** The leader steps down when it has not renewed for this long; must be less than leaseDurationMs. @default 10000 */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
}

const JITTER = 1.2;

/**
 * The timings with defaults applied.
 * @throws Error when one is not a positive number or renewDeadlineMs is not
 *   between retryPeriodMs × 1.2 and leaseDurationMs (client-go's rules)
 */
export function leaderElectionTimings(o: LeaderElectionTimings): Required<LeaderElectionTimings> {
  const t = { leaseDurationMs: o.leaseDurationMs ?? 15_000, renewDeadlineMs: o.renewDeadlineMs ?? 10_000, retryPeriodMs: o.retryPeriodMs ?? 2_000 };
  for (const [k, v] of Object.entries(t)) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`invalid leader election options: ${k} must be a positive number of milliseconds, got ${v}`);
  }
  if (t.renewDeadlineMs >= t.leaseDurationMs) {
    throw new Error(
      `invalid leader election options: renewDeadlineMs (${t.renewDeadlineMs}) must be less than leaseDurationMs (${t.leaseDurationMs}): ` +
        'a leader must stop acting before its lease can pass to another replica',
    );
  }
  if (t.renewDeadlineMs <= t.retryPeriodMs * JITTER) {
    throw new Error(`invalid leader election options: renewDeadlineMs (${t.renewDeadlineMs}) must be greater than retryPeriodMs × ${JITTER} (${t.retryPeriodMs * JITTER})`);
  }
  return t;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** A moment on both clocks. */
interface Instant {
  readonly mono: number;
  readonly wall: number;
}
const instant = (): Instant => ({ mono: performance.now(), wall: Date.now() });
/**
 * Milliseconds since `t`, the larger reading of two clocks: the monotonic
 * clock ignores wall-clock steps, and the wall clock keeps counting while
 * the host is suspended (CLOCK_MONOTONIC does not). Reading too much only
 * makes a leader step down early.
 */
const elapsedSince = (t: Instant) => Math.max(performance.now() - t.mono, Date.now() - t.wall);

export class LeaderElector {
  private leading = false;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  /** The lease spec we last saw and when (monotonic) we saw it change: expiry is judged by our clock, not the holder's. */
  private observed = { spec: '', at: 0 };
  /** When the last successful acquire or renew was sent (not answered: the server may have written it at any moment since). */
  private renewedAt: Instant | undefined;
  private leaderCtl: AbortController | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectorOptions,
  ) {
    const t = leaderElectionTimings(opts);
    this.leaseMs = t.leaseDurationMs;
    this.renewMs = t.renewDeadlineMs;
    this.retryMs = t.retryPeriodMs;
    this.log = (opts.logger ?? nopLogger).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Milliseconds since the last successful renewal was sent; Infinity before the first. */
  sinceLastRenewalMs(): number {
    return this.renewedAt ? elapsedSince(this.renewedAt) : Infinity;
  }

  /**
   * Why this replica must not write now, or undefined when it may: it leads
   * and renewed within the renew deadline. Meant for
   * {@link KubeClientOptions.writeGuard}: it closes the gap between the
   * deadline passing and the step-down running (after a pause, other
   * callbacks may run first).
   */
  readonly writeFence = (): string | undefined => {
    const lease = `${this.opts.namespace}/${this.opts.name}`;
    if (!this.leading) return `not the leader (lease ${lease})`;
    const ms = Math.round(this.sinceLastRenewalMs());
    if (ms > this.renewMs) return `leader lease ${lease} not renewed for ${ms} ms, past the renew deadline of ${this.renewMs} ms`;
    return undefined;
  };

  /**
   * Campaigns until leading, then renews. Resolves when leadership is lost
   * (the caller should exit) or, after releasing the lease, when `signal` aborts.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const at = instant();
      // A success that took longer than the deadline (a pause mid-request) does not count; the next attempt renews.
      if ((await this.tryAcquireOrRenew(this.renewMs)) && elapsedSince(at) <= this.renewMs) {
        this.renewedAt = at;
        break;
      }
      await sleep(this.jittered(), signal);
    }
    if (signal.aborted) return;
    this.leading = true;
    const leaderCtl = (this.leaderCtl = new AbortController());
    this.armWatchdog();
    this.log.info('became leader');
    try {
      this.opts.onStartedLeading(leaderCtl.signal);
    } catch (e) {
      this.log.error('onStartedLeading failed', { error: e });
    }
    const wake = AbortSignal.any([signal, leaderCtl.signal]);
    while (this.leading && !signal.aborted) {
      await sleep(this.retryMs, wake);
      if (!this.leading || signal.aborted) break;
      // First thing after a pause: no renewal once the deadline has passed (the watchdog may not have run yet).
      if (this.sinceLastRenewalMs() > this.renewMs) {
        this.stepDown('renew deadline passed');
        break;
      }
      const at = instant();
      const ok = await this.tryAcquireOrRenew(this.renewMs - this.sinceLastRenewalMs());
      if (!this.leading) break; // the watchdog fired while the request was out
      if (ok) {
        this.renewedAt = at;
        this.armWatchdog();
      } else if (!this.stillOurs()) {
        this.stepDown('the lease has another holder');
      }
    }
    if (this.leading) {
      // Shutting down (signal aborted) while leading.
      this.leading = false;
      clearTimeout(this.watchdog);
      leaderCtl.abort();
      await this.release();
    }
    this.opts.onStoppedLeading?.();
  }

  /** Stops leading at once: controllers get their signal aborted before this returns. */
  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.watchdog);
    this.log.error('leadership lost', { reason, sinceLastRenewMs: Math.round(this.sinceLastRenewalMs()), renewDeadlineMs: this.renewMs });
    this.leaderCtl?.abort();
  }

  /** Steps down when the renew deadline passes without another renewal (re-armed by each one). */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const left = this.renewMs - this.sinceLastRenewalMs();
    if (left < 0) return this.stepDown('renew deadline passed');
    this.watchdog = setTimeout(() => this.armWatchdog(), Math.ceil(left) + 1);
  }

  private jittered(): number {
    return Math.round(this.retryMs * (1 + Math.random() * (JITTER - 1)));
  }

  /** False once we have seen another holder in the lease. */
  private stillOurs(): boolean {
    if (!this.observed.spec) return true;
    return JSON.parse(this.observed.spec).holderIdentity === this.opts.identity;
  }

  private spec(acquireTime: string, transitions: number) {
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseMs / 1000)),
      acquireTime,
      renewTime: microTime(),
      leaseTransitions: transitions,
    };
  }

  /** One attempt; its requests are aborted after `budgetMs` altogether. */
  private async tryAcquireOrRenew(budgetMs: number): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const timeoutMs = Math.max(1, Math.floor(budgetMs));
    const signal = AbortSignal.timeout(timeoutMs);
    // After a pause the GET's reply can be handled before the timeout timer fires: check the clock before writing.
    const until = performance.now() + timeoutMs;
    const late = () => performance.now() > until;
    try {
      const lease = await this.client.get(CoreResources.leases, namespace, name, { signal });
      if (late()) return false;
      if (!lease) {
        await this.client.create(CoreResources.leases, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(microTime(), 0),
        }, { signal });
        this.observe({ holderIdentity: identity });
        return true;
      }
      const spec = lease.spec ?? {};
      this.observe(spec);
      const holder: string = spec.holderIdentity ?? '';
      const durMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== identity && this.observed.at + durMs > performance.now()) return false;
      const renewing = holder === identity;
      lease.spec = this.spec(renewing && spec.acquireTime ? spec.acquireTime : microTime(), (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1));
      if (late()) return false;
      await this.client.update(CoreResources.leases, lease, { signal }); // carries resourceVersion: 409 if someone else wrote first
      this.observe(lease.spec);
      if (!renewing) this.log.info('acquired lease', { previousHolder: holder || undefined });
      return true;
    } catch (e) {
      if (signal.aborted) this.log.warn('lease request timed out', { timeoutMs });
      else if (!isConflict(e) && !isAlreadyExists(e)) this.log.warn('cannot acquire or renew lease', { error: e });
      return false;
    }
  }

  private observe(spec: any): void {
    const s = JSON.stringify({ holderIdentity: spec.holderIdentity ?? '', renewTime: spec.renewTime ?? '' });
    if (s !== this.observed.spec) this.observed = { spec: s, at: performance.now() };
  }

  /** Gives the lease up so another replica can take over without waiting for expiry. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const signal = AbortSignal.timeout(this.renewMs);
    try {
      const lease = await this.client.get(CoreResources.leases, namespace, name, { signal });
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = microTime();
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
      await this.client.update(CoreResources.leases, lease, { signal });
      this.log.info('released lease');
    } catch (e) {
      this.log.warn('cannot release lease', { error: e });
    }
  }
}
