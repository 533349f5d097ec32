/**
 * Work queue with client-go semantics: a key is queued at most once, never
 * handed to two workers at a time, and re-queued after done() when it was
 * added while being processed.
 *
 * Fairness: with `shardOf`, every key belongs to a shard (for the VM
 * controller, the VM's Provider). Workers take the next ready key
 * round-robin across shards, and a shard never has more than
 * `perShardConcurrency` keys in flight, so one slow shard cannot hold
 * every worker while the others wait.
 */
import type { Metrics } from './metrics';
import { TokenBucket } from './ratelimit';

export interface RateLimiter {
  /** Delay before `key` may be retried; counts a failure. */
  when(key: string): number;
  forget(key: string): void;
  retries(key: string): number;
}

/** Per-key exponential backoff: base * 2^failures, capped. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 60));
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** Overall token bucket: retries of all keys together stay under qps. */
export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;
  constructor(qps: number, burst: number) {
    this.bucket = new TokenBucket(qps, burst);
  }
  when(): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  retries(): number {
    return 0;
  }
}

export class MaxOfRateLimiter implements RateLimiter {
  constructor(private readonly limiters: RateLimiter[]) {}
  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  retries(key: string): number {
    return Math.max(...this.limiters.map((l) => l.retries(key)));
  }
}

export function defaultControllerRateLimiter(
  opts: { baseDelayMs?: number; maxDelayMs?: number; qps?: number; burst?: number } = {},
): RateLimiter {
  return new MaxOfRateLimiter([
    new ItemExponentialRateLimiter(opts.baseDelayMs ?? 5, opts.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter(opts.qps ?? 10, opts.burst ?? 100),
  ]);
}

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  name?: string;
  metrics?: Metrics;
  /**
   * The shard of a key, evaluated when the key is queued. Its range must be
   * bounded (it labels metrics). @default every key in one shard
   */
  shardOf?: (key: string) => string;
  /**
   * Keys of one shard in flight at most. @default {@link DEFAULT_PER_SHARD_CONCURRENCY}
   * with `shardOf`, unlimited without
   */
  perShardConcurrency?: number;
}

export const DEFAULT_PER_SHARD_CONCURRENCY = 4;

interface Shard {
  readonly name: string;
  /** Queued keys, oldest first. */
  readonly keys: string[];
  inFlight: number;
}

export class WorkQueue {
  /** Shards with queued or in-flight keys, in round-robin order. */
  private readonly shards = new Map<string, Shard>();
  private ring: Shard[] = [];
  /** Index in `ring` of the shard served last. */
  private cursor = -1;
  private queued = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, { started: number; shard: Shard }>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shutdown = false;
  private readonly rateLimiter: RateLimiter;
  private readonly name: string;
  private readonly shardOf: (key: string) => string;
  private readonly perShard: number;
  private readonly m?: {
    depth: ReturnType<Metrics['gauge']>;
    adds: ReturnType<Metrics['counter']>;
    retries: ReturnType<Metrics['counter']>;
    work: ReturnType<Metrics['histogram']>;
    latency: ReturnType<Metrics['histogram']>;
    shardDepth?: ReturnType<Metrics['gauge']>;
    shardInFlight?: ReturnType<Metrics['gauge']>;
  };

  constructor(opts: WorkQueueOptions = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.name = opts.name ?? 'queue';
    const sharded = opts.shardOf !== undefined;
    this.shardOf = opts.shardOf ?? (() => '');
    const cap = opts.perShardConcurrency ?? (sharded ? DEFAULT_PER_SHARD_CONCURRENCY : Infinity);
    if (!(cap >= 1)) throw new RangeError(`perShardConcurrency must be at least 1, not ${cap}`);
    this.perShard = cap;
    const mx = opts.metrics;
    if (mx) {
      this.m = {
        depth: mx.gauge('workqueue_depth', 'Current depth of workqueue', ['name']),
        adds: mx.counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name']),
        retries: mx.counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name']),
        work: mx.histogram('workqueue_work_duration_seconds', 'How long in seconds processing an item from workqueue takes.'),
        latency: mx.histogram('workqueue_queue_duration_seconds', 'How long in seconds an item stays in workqueue before being requested'),
        ...(sharded
          ? {
              shardDepth: mx.gauge('workqueue_shard_depth', 'Current depth of a workqueue shard (a shard with nothing queued or in flight has no series)', ['name', 'shard']),
              shardInFlight: mx.gauge('workqueue_shard_in_flight', 'Items of a workqueue shard being processed right now', ['name', 'shard']),
            }
          : {}),
      };
      this.m.depth.set(0, { name: this.name });
    }
  }

  add(key: string): void {
    if (this.shutdown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.m?.adds.inc({ name: this.name });
    if (this.processing.has(key)) return; // done() re-queues it
    this.push(key);
  }

  addAfter(key: string, ms: number): void {
    if (this.shutdown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const prev = this.waiting.get(key);
    if (prev && prev.at <= at) return; // an earlier wake-up is already planned
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.m?.retries.inc({ name: this.name });
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /**
   * Next key to process; waits while nothing is queued or every shard with
   * queued keys is at its in-flight limit. Undefined once shut down and drained.
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shutdown && this.queued === 0) return Promise.resolve(undefined);
    return new Promise((res) => this.waiters.push(res));
  }

  done(key: string): void {
    const p = this.processing.get(key);
    if (p === undefined) return;
    this.processing.delete(key);
    p.shard.inFlight--;
    this.m?.work.observe((Date.now() - p.started) / 1000, { name: this.name });
    this.m?.shardInFlight?.dec({ name: this.name, shard: p.shard.name });
    if (this.dirty.has(key)) this.push(key);
    this.release(p.shard);
    this.dispatch(); // the shard may take another key now
  }

  len(): number {
    return this.queued;
  }

  /** Keys being processed right now. */
  processingCount(): number {
    return this.processing.size;
  }

  /** Queued and in-flight keys per shard with either. */
  shardStats(): Map<string, { depth: number; inFlight: number }> {
    return new Map(this.ring.map((s) => [s.name, { depth: s.keys.length, inFlight: s.inFlight }]));
  }

  shutDown(): void {
    this.shutdown = true;
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.dispatch();
  }

  shuttingDown(): boolean {
    return this.shutdown;
  }

  private push(key: string): void {
    this.addedAt.set(key, Date.now());
    const name = this.shardOf(key);
    let shard = this.shards.get(name);
    if (!shard) {
      shard = { name, keys: [], inFlight: 0 };
      this.shards.set(name, shard);
      // A new shard joins the round last: just before the shard served last (or at the end before any was).
      if (this.cursor < 0) this.ring.push(shard);
      else this.ring.splice(this.cursor++, 0, shard);
      this.m?.shardInFlight?.set(0, { name: this.name, shard: name });
    }
    shard.keys.push(key);
    this.queued++;
    this.m?.shardDepth?.set(shard.keys.length, { name: this.name, shard: name });
    this.setDepth();
    this.dispatch();
  }

  /** Hands keys to waiting workers while some shard can take one; releases them all once shut down and drained. */
  private dispatch(): void {
    while (this.waiters.length) {
      const key = this.take();
      if (key === undefined) break;
      this.waiters.shift()!(key);
    }
    if (this.shutdown && this.queued === 0) for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** The next key round-robin across shards under their limit, now being processed. */
  private take(): string | undefined {
    const n = this.ring.length;
    for (let i = 1; i <= n; i++) {
      const at = (this.cursor + i) % n;
      const shard = this.ring[at]!;
      if (!shard.keys.length || shard.inFlight >= this.perShard) continue;
      this.cursor = at;
      const key = shard.keys.shift()!;
      this.queued--;
      shard.inFlight++;
      this.dirty.delete(key);
      this.processing.set(key, { started: Date.now(), shard });
      const added = this.addedAt.get(key);
      this.addedAt.delete(key);
      if (added !== undefined) this.m?.latency.observe((Date.now() - added) / 1000, { name: this.name });
      const labels = { name: this.name, shard: shard.name };
      this.m?.shardDepth?.set(shard.keys.length, labels);
      this.m?.shardInFlight?.inc(labels);
      this.setDepth();
      return key;
    }
    return undefined;
  }

  /** Forgets a shard with nothing queued or in flight, and its metric series. */
  private release(shard: Shard): void {
    if (shard.keys.length || shard.inFlight || this.shards.get(shard.name) !== shard) return;
    this.shards.delete(shard.name);
    const at = this.ring.indexOf(shard);
    this.ring.splice(at, 1);
    if (at <= this.cursor) this.cursor--;
    const labels = { name: this.name, shard: shard.name };
    this.m?.shardDepth?.remove(labels);
    this.m?.shardInFlight?.remove(labels);
  }

  private setDepth(): void {
    this.m?.depth.set(this.queued, { name: this.name });
  }
}
