/**
 * Work queue with client-go semantics: a key is queued at most once, never
 * handed to two workers at a time, and re-queued after done() when it was
 * added while being processed.
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
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>(); // key -> start time
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shutdown = false;
  private readonly rateLimiter: RateLimiter;
  private readonly name: string;
  private readonly m?: {
    depth: ReturnType<Metrics['gauge']>;
    adds: ReturnType<Metrics['counter']>;
    retries: ReturnType<Metrics['counter']>;
    work: ReturnType<Metrics['histogram']>;
    latency: ReturnType<Metrics['histogram']>;
  };

  constructor(opts: WorkQueueOptions = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.name = opts.name ?? 'queue';
    const mx = opts.metrics;
    if (mx) {
      this.m = {
        depth: mx.gauge('workqueue_depth', 'Current depth of workqueue', ['name']),
        adds: mx.counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name']),
        retries: mx.counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name']),
        work: mx.histogram('workqueue_work_duration_seconds', 'How long in seconds processing an item from workqueue takes.'),
        latency: mx.histogram('workqueue_queue_duration_seconds', 'How long in seconds an item stays in workqueue before being requested'),
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

  /** Next key to process; undefined once shut down and drained. */
  get(): Promise<string | undefined> {
    if (this.queue.length) return Promise.resolve(this.take());
    if (this.shutdown) return Promise.resolve(undefined);
    return new Promise((res) => this.waiters.push(res));
  }

  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.m?.work.observe((Date.now() - started) / 1000, { name: this.name });
    if (this.dirty.has(key)) this.push(key);
  }

  len(): number {
    return this.queue.length;
  }

  /** Keys being processed right now. */
  processingCount(): number {
    return this.processing.size;
  }

  shutDown(): void {
    this.shutdown = true;
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  shuttingDown(): boolean {
    return this.shutdown;
  }

  private push(key: string): void {
    this.addedAt.set(key, Date.now());
    const w = this.waiters.shift();
    if (w) {
      this.queue.push(key);
      w(this.take());
    } else {
      this.queue.push(key);
      this.setDepth();
    }
  }

  private take(): string {
    const key = this.queue.shift()!;
    this.dirty.delete(key);
    this.processing.set(key, Date.now());
    const at = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (at !== undefined) this.m?.latency.observe((Date.now() - at) / 1000, { name: this.name });
    this.setDepth();
    return key;
  }

  private setDepth(): void {
    this.m?.depth.set(this.queue.length, { name: this.name });
  }
}
