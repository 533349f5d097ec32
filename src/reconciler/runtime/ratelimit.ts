/**
 * Token bucket (like golang.org/x/time/rate with reservations): a
 * reservation takes a token now, possibly one not yet refilled, and says
 * how long to wait before using it, so callers are served in order. The
 * API client and the Provider call limiter (src/providers/rate-limit.ts)
 * both use it.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    readonly qps: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token and returns how many ms the caller must wait before using it. */
  reserve(): number {
    return this.tryReserve(Infinity)!;
  }

  /**
   * Takes one token if it is usable within `maxWaitMs` and returns the wait;
   * otherwise takes nothing and returns undefined.
   */
  tryReserve(maxWaitMs: number): number | undefined {
    if (!(this.qps > 0)) return 0; // qps <= 0: unlimited
    this.refill();
    const wait = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.qps) * 1000);
    if (wait > maxWaitMs) return undefined;
    this.tokens -= 1;
    return wait;
  }

  /** Gives back a reserved token that will not be used (a cancelled wait). */
  cancel(): void {
    if (!(this.qps > 0)) return;
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /**
   * Waits for a token. `deadline` (epoch ms): when the token would come
   * later, returns `deadline` at once and takes none. An abort of `signal`
   * ends the wait and returns the token.
   */
  async wait(opts: { signal?: AbortSignal; deadline?: number } = {}): Promise<'ok' | 'deadline' | 'aborted'> {
    if (opts.signal?.aborted) return 'aborted';
    const ms = this.tryReserve(opts.deadline === undefined ? Infinity : opts.deadline - Date.now());
    if (ms === undefined) return 'deadline';
    if (ms > 0) await sleep(ms, opts.signal);
    if (opts.signal?.aborted) {
      if (ms > 0) this.cancel();
      return 'aborted';
    }
    return 'ok';
  }

  /** Waits for a token; resolves early (without error) when `signal` aborts. */
  async take(signal?: AbortSignal): Promise<void> {
    await this.wait({ signal });
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }
}

/** setTimeout as a promise; resolves early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      res();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Exponential backoff with jitter between min and max. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly minMs = 200,
    private readonly maxMs = 30_000,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.attempt++);
    // +-25 % jitter so many informers do not retry in lockstep.
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  reset(): void {
    this.attempt = 0;
  }
}
