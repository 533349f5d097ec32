/**
 * A token bucket in front of a Provider: Provider `spec.rateLimit`
 * (qps, burst) bounds the calls the reconciler makes to one hypervisor,
 * however many VMs reconcile at once. Calls wait for a token; they are
 * never dropped.
 */
import type { Provider } from './provider';

export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly qps: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Resolves when a token is available; callers are served in order. */
  take(): Promise<void> {
    const next = this.chain.then(() => this.waitForToken());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}

/** Every method of `inner` (except close) waits for a token of `bucket` first. */
export function rateLimited(inner: Provider, bucket: TokenBucket): Provider {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close') return value;
      return async (...args: unknown[]) => {
        await bucket.take();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
