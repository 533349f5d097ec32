/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's
 * leaderelection, simplified). Needs only get/create/update on leases.
 */
import type { KubeClient } from './client';
import { isAlreadyExists, isConflict } from './errors';
import { nopLogger, type Logger } from './logger';
import { sleep } from './ratelimit';
import { CoreResources } from './resources';

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  /** @default 15000 */
  leaseDurationMs?: number;
  /** Leadership is given up when renewing fails for this long. @default 10000 */
  renewDeadlineMs?: number;
  /** @default 2000 */
  retryPeriodMs?: number;
  logger?: Logger;
  onStartedLeading: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  /** The lease spec we last saw and when we saw it change: expiry is judged by our clock, not the holder's. */
  private observed = { spec: '', at: 0 };

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectorOptions,
  ) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    this.log = (opts.logger ?? nopLogger).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until leading, then renews. Resolves when leadership is lost
   * (the caller should exit) or, after releasing the lease, when `signal` aborts.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.jittered(), signal);
    if (signal.aborted) return;
    this.leading = true;
    this.log.info('became leader');
    const leaderCtl = new AbortController();
    try {
      this.opts.onStartedLeading(leaderCtl.signal);
    } catch (e) {
      this.log.error('onStartedLeading failed', { error: e });
    }
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewMs || !this.stillOurs()) {
        this.log.error('leadership lost', { sinceLastRenewMs: Date.now() - lastRenew });
        break;
      }
    }
    this.leading = false;
    leaderCtl.abort();
    if (signal.aborted) await this.release();
    this.opts.onStoppedLeading?.();
  }

  private jittered(): number {
    return Math.round(this.retryMs * (1 + Math.random() * 0.2));
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

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.client.get(CoreResources.leases, namespace, name);
      if (!lease) {
        await this.client.create(CoreResources.leases, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(microTime(), 0),
        });
        this.observe({ holderIdentity: identity });
        return true;
      }
      const spec = lease.spec ?? {};
      this.observe(spec);
      const holder: string = spec.holderIdentity ?? '';
      const durMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== identity && this.observed.at + durMs > Date.now()) return false;
      const renewing = holder === identity;
      lease.spec = this.spec(renewing && spec.acquireTime ? spec.acquireTime : microTime(), (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1));
      await this.client.update(CoreResources.leases, lease); // carries resourceVersion: 409 if someone else wrote first
      this.observe(lease.spec);
      if (!renewing) this.log.info('acquired lease', { previousHolder: holder || undefined });
      return true;
    } catch (e) {
      if (!isConflict(e) && !isAlreadyExists(e)) this.log.warn('cannot acquire or renew lease', { error: e });
      return false;
    }
  }

  private observe(spec: any): void {
    const s = JSON.stringify({ holderIdentity: spec.holderIdentity ?? '', renewTime: spec.renewTime ?? '' });
    if (s !== this.observed.spec) this.observed = { spec: s, at: Date.now() };
  }

  /** Gives the lease up so another replica can take over without waiting for expiry. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.client.get(CoreResources.leases, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = microTime();
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
      await this.client.update(CoreResources.leases, lease);
      this.log.info('released lease');
    } catch (e) {
      this.log.warn('cannot release lease', { error: e });
    }
  }
}
