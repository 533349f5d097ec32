/**
 * Runs controllers and informers (controller-runtime's manager, reduced):
 * probe servers first, then, once leadership is won (when configured),
 * every runnable. Losing leadership stops everything and rejects start() so
 * the process exits; aborting the signal shuts down gracefully.
 *
 * With leader election, the Lease is renewed through a client of its own
 * (its own rate limiter: reconcile traffic cannot delay a renewal), and
 * `client` (with `fencedClients`) refuses writes whenever this replica is not
 * a leader within its renew deadline, and keeps refusing after start() ends.
 */
import { setMaxListeners } from 'node:events';
import { KubeClient } from './client';
import type { Informer } from './informer';
import { leaderElectionTimings, LeaderElector, type LeaderElectionTimings } from './leader';
import type { Logger } from './logger';
import { Metrics } from './metrics';
import { startProbeServers } from './probes';

export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
}

export interface ManagerOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: Metrics;
  leaderElection?: { namespace: string; name: string; identity: string } & LeaderElectionTimings;
  /** Other clients the runnables write with (e.g. for Events), fenced like `client` under leader election. */
  fencedClients?: readonly KubeClient[];
  /** @default ":8081" */
  healthProbeBindAddress?: string;
  /** @default ":8080"; "0" disables */
  metricsBindAddress?: string;
  /** How long shutdown waits for in-flight reconciles. @default 30000 */
  gracefulShutdownTimeoutMs?: number;
}

export class LeaderElectionLostError extends Error {
  override readonly name = 'LeaderElectionLostError';
  constructor() {
    super('leader election lost');
  }
}

export class Manager {
  readonly metrics: Metrics;
  private readonly runnables: Runnable[] = [];
  private readonly informers: Informer<any>[] = [];
  private started = false;
  private stopping = false;
  private leading = false;
  private _healthPort = 0;
  private _metricsPort = 0;

  constructor(private readonly opts: ManagerOptions) {
    this.metrics = opts.metrics ?? new Metrics();
    if (opts.leaderElection) leaderElectionTimings(opts.leaderElection); // a bad configuration fails here, not at start()
  }

  get healthPort(): number {
    return this._healthPort;
  }
  get metricsPort(): number {
    return this._metricsPort;
  }

  /**
   * Ready while running: a standby replica is ready at once; the leader once
   * the informers it started have synced.
   */
  get ready(): boolean {
    if (!this.started || this.stopping) return false;
    return !this.leading || this.informers.every((i) => i.hasSynced());
  }

  add(r: Runnable): void {
    this.runnables.push(r);
  }

  /** An informer started (with the runnables) only after leadership is won. */
  addInformer(informer: Informer<any>): void {
    this.informers.push(informer);
    this.runnables.unshift({
      start: (signal) => {
        informer.start(signal);
        return new Promise<void>((res) => (signal.aborted ? res() : signal.addEventListener('abort', () => res(), { once: true })));
      },
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('manager already started');
    const log = this.opts.logger.child({ component: 'manager' });
    const servers = await startProbeServers({
      healthProbeBindAddress: this.opts.healthProbeBindAddress,
      metricsBindAddress: this.opts.metricsBindAddress,
      metrics: this.metrics,
      ready: () => this.ready,
    });
    this._healthPort = servers.healthPort;
    this._metricsPort = servers.metricsPort;
    this.started = true;
    log.info('probe servers listening', { healthPort: servers.healthPort, metricsPort: servers.metricsPort });

    const runCtl = new AbortController();
    // Every worker, informer and in-flight call listens on it: more than Node's default warning limit of 10 is expected.
    setMaxListeners(0, runCtl.signal);
    const stopRunnables = () => runCtl.abort();
    signal.addEventListener('abort', stopRunnables, { once: true });
    let failure: Error | undefined;
    let running: Promise<void>[] = [];
    const runAll = () => {
      this.leading = true;
      running = this.runnables.map((r) =>
        r.start(runCtl.signal).catch((e) => {
          log.error('runnable failed; stopping', { error: e });
          failure ??= e instanceof Error ? e : new Error(String(e));
          runCtl.abort();
        }),
      );
    };
    const stopped = new Promise<void>((res) => (runCtl.signal.aborted ? res() : runCtl.signal.addEventListener('abort', () => res(), { once: true })));

    try {
      if (signal.aborted) runCtl.abort();
      if (this.opts.leaderElection && !runCtl.signal.aborted) {
        const elCtl = new AbortController();
        const le = this.opts.leaderElection;
        const leaseClient = new KubeClient(this.opts.client.kubeConfig, {
          qps: 20, burst: 20, metrics: this.metrics,
          userAgent: `${this.opts.client.userAgent.split('/')[0]}/leader-election`,
          timeoutMs: leaderElectionTimings(le).renewDeadlineMs,
        });
        let releasing = false;
        const lost = () => {
          if (releasing || runCtl.signal.aborted) return;
          failure ??= new LeaderElectionLostError();
          log.error('leader election lost; stopping');
          runCtl.abort();
        };
        const elector = new LeaderElector(leaseClient, {
          ...le, logger: this.opts.logger,
          onStartedLeading: (leaderSignal) => {
            // Aborted synchronously by the step-down: in-flight reconciles are cancelled at once.
            leaderSignal.addEventListener('abort', lost, { once: true });
            runAll();
          },
        });
        for (const c of [this.opts.client, ...(this.opts.fencedClients ?? [])]) {
          const prev = c.writeGuard;
          c.writeGuard = () => elector.writeFence() ?? prev?.();
        }
        const campaign = elector.run(elCtl.signal);
        await Promise.race([stopped, campaign]);
        lost(); // the campaign ended by itself
        await this.drain(running, log);
        releasing = true;
        elCtl.abort(); // releases the lease now that nothing runs any more
        await campaign;
        leaseClient.close();
      } else if (!runCtl.signal.aborted) {
        runAll();
        await stopped;
        await this.drain(running, log);
      }
    } finally {
      this.stopping = true;
      signal.removeEventListener('abort', stopRunnables);
      await servers.close();
      log.info('manager stopped');
    }
    if (failure) throw failure;
  }

  private async drain(running: Promise<void>[], log: Logger): Promise<void> {
    this.stopping = true;
    const limit = this.opts.gracefulShutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((res) => (timer = setTimeout(() => res(true), limit)));
    const done = await Promise.race([Promise.all(running).then(() => false), timedOut]);
    clearTimeout(timer);
    if (done) log.warn('graceful shutdown timed out; in-flight work abandoned', { timeoutMs: limit });
  }
}
