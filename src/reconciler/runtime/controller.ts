/** A controller: informer events -> work queue -> N reconcile workers. */
import { setMaxListeners } from 'node:events';
import type { Informer } from './informer';
import { nopLogger, type Logger } from './logger';
import type { Metrics } from './metrics';
import { objectKey } from './resources';
import { DEFAULT_PER_SHARD_CONCURRENCY, WorkQueue, type RateLimiter } from './workqueue';

export interface Result {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export interface ControllerOptions {
  name: string;
  /** @default 4 */
  workers?: number;
  reconcile: (key: string, signal: AbortSignal) => Promise<Result | void>;
  rateLimiter?: RateLimiter;
  /** Fair queueing: the shard of a key (see WorkQueueOptions.shardOf). @default one shard */
  shardOf?: (key: string) => string;
  /** Keys of one shard reconciled at once at most; `workers` still bounds the total. */
  perShardConcurrency?: number;
  logger?: Logger;
  metrics?: Metrics;
}

export interface ControllerWatchOptions<T> {
  /** Keys to enqueue for an object. @default [objectKey(obj)] */
  mapFn?: (obj: T) => string[];
  /**
   * Whether an event enqueues: called with (obj, old) for updates and (obj)
   * for adds and deletes. @default {@link defaultPredicate}
   */
  predicate?: (obj: T, old?: T) => boolean;
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/**
 * Adds and deletes always pass. An update passes when the generation changed
 * or deletionTimestamp, finalizers, labels or annotations did, so status-only
 * writes (our own among them) cause no work. Objects without a generation
 * (ConfigMaps, Secrets) pass on any change of resourceVersion. Informer
 * resyncs (obj === old) pass.
 */
export function defaultPredicate(obj: any, old?: any): boolean {
  if (!old || obj === old) return true; // add/delete, or an informer resync
  const m = obj?.metadata ?? {};
  const o = old?.metadata ?? {};
  if (m.generation === undefined && o.generation === undefined) return m.resourceVersion !== o.resourceVersion;
  return (
    m.generation !== o.generation ||
    m.deletionTimestamp !== o.deletionTimestamp ||
    json(m.finalizers) !== json(o.finalizers) ||
    json(m.labels) !== json(o.labels) ||
    json(m.annotations) !== json(o.annotations)
  );
}

export class Controller {
  readonly queue: WorkQueue;
  readonly name: string;
  private readonly informers: Informer<any>[] = [];
  private readonly log: Logger;
  private readonly m?: {
    total: ReturnType<Metrics['counter']>;
    errors: ReturnType<Metrics['counter']>;
    time: ReturnType<Metrics['histogram']>;
    active: ReturnType<Metrics['gauge']>;
  };

  constructor(private readonly opts: ControllerOptions) {
    this.name = opts.name;
    this.queue = new WorkQueue({
      rateLimiter: opts.rateLimiter,
      name: opts.name,
      metrics: opts.metrics,
      shardOf: opts.shardOf,
      perShardConcurrency: opts.perShardConcurrency,
    });
    this.log = (opts.logger ?? nopLogger).child({ controller: opts.name });
    const mx = opts.metrics;
    if (mx) {
      this.m = {
        total: mx.counter('controller_runtime_reconcile_total', 'Total number of reconciliations per controller', ['controller', 'result']),
        errors: mx.counter('controller_runtime_reconcile_errors_total', 'Total number of reconciliation errors per controller', ['controller']),
        time: mx.histogram('controller_runtime_reconcile_time_seconds', 'Length of time per reconciliation per controller'),
        active: mx.gauge('controller_runtime_active_workers', 'Number of currently used workers per controller', ['controller']),
      };
    }
  }

  /** Enqueues keys on the informer's events (the informer is started by the caller). */
  watch<T>(informer: Informer<T>, opts: ControllerWatchOptions<T> = {}): void {
    if (!this.informers.includes(informer)) this.informers.push(informer);
    const map = opts.mapFn ?? ((o: T) => [objectKey(o)]);
    const pred = opts.predicate ?? defaultPredicate;
    const enqueue = (obj: T, old?: T) => {
      if (!pred(obj, old)) return;
      for (const k of map(obj)) this.queue.add(k);
    };
    informer.on('add', (o) => enqueue(o));
    informer.on('update', (o, old) => enqueue(o, old));
    informer.on('delete', (o) => enqueue(o));
  }

  /**
   * Waits for the watched informers to sync, then runs the workers until
   * `signal` aborts; resolves when in-flight reconciles have finished.
   */
  async start(signal: AbortSignal): Promise<void> {
    setMaxListeners(0, signal); // one listener per worker and in-flight reconcile
    await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
    if (signal.aborted) {
      this.queue.shutDown();
      return;
    }
    const onAbort = () => this.queue.shutDown();
    signal.addEventListener('abort', onAbort, { once: true });
    this.log.info('starting workers', { workers: this.opts.workers ?? 4, ...(this.opts.shardOf ? { perShardConcurrency: this.opts.perShardConcurrency ?? DEFAULT_PER_SHARD_CONCURRENCY } : {}) });
    try {
      await Promise.all(Array.from({ length: Math.max(1, this.opts.workers ?? 4) }, () => this.worker(signal)));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.log.info('all workers finished');
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        // Shutting down: leave the backlog, finish only what is in flight.
        this.queue.done(key);
        continue;
      }
      await this.process(key, signal);
    }
  }

  private async process(key: string, signal: AbortSignal): Promise<void> {
    const label = { controller: this.name };
    const t0 = Date.now();
    this.m?.active.inc(label);
    try {
      const res = await this.opts.reconcile(key, signal);
      if (res?.requeueAfterMs !== undefined && res.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfterMs);
        this.m?.total.inc({ ...label, result: 'requeue_after' });
      } else if (res?.requeue) {
        this.queue.addRateLimited(key);
        this.m?.total.inc({ ...label, result: 'requeue' });
      } else {
        this.queue.forget(key);
        this.m?.total.inc({ ...label, result: 'success' });
      }
    } catch (e) {
      this.queue.addRateLimited(key);
      this.m?.total.inc({ ...label, result: 'error' });
      this.m?.errors.inc(label);
      this.log.error('Reconciler error', { key, error: e, retries: this.queue.numRequeues(key) });
    } finally {
      this.m?.time.observe((Date.now() - t0) / 1000, label);
      this.m?.active.dec(label);
      this.queue.done(key);
    }
  }
}
