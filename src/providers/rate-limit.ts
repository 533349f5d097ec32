/**
 * A token bucket in front of a Provider: Provider `spec.rateLimit`
 * (qps, burst) bounds the calls the reconciler makes to one hypervisor,
 * however many VMs reconcile at once. Calls wait for a token in order,
 * within their own deadline: a call whose token would come after its
 * `timeoutMs` fails at once (Retryable), an aborted `signal` ends the wait,
 * and the time spent waiting is taken off the deadline the provider sees.
 */
import type { TokenBucket } from '../reconciler/runtime/ratelimit';
import { ProviderError, type CallOptions, type Provider } from './provider';

/** Where each method takes its CallOptions (the last parameter of the Provider interface). */
const OPTIONS_AT: Readonly<Record<Exclude<keyof Provider, 'close'>, number>> = {
  validate: 0,
  create: 1,
  delete: 1,
  power: 3,
  reconfigure: 2,
  hardwareUpgrade: 2,
  describe: 1,
  taskStatus: 1,
  snapshotCreate: 1,
  snapshotDelete: 2,
  snapshotRevert: 2,
  clone: 1,
  imagePrepare: 1,
  getCapabilities: 0,
  exportDisk: 1,
  importDisk: 1,
  getDiskInfo: 3,
  listVMs: 0,
  guestExec: 2,
};

/**
 * Every method of `inner` (except close) waits for a token of `bucket`
 * first. `name` (the Provider's `namespace/name`) is for error messages.
 */
export function rateLimited(inner: Provider, bucket: TokenBucket, name = 'unknown'): Provider {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close') return value;
      const at = typeof prop === 'string' ? (OPTIONS_AT as Record<string, number | undefined>)[prop] : undefined;
      const operation = typeof prop === 'string' ? prop.charAt(0).toUpperCase() + prop.slice(1) : String(prop);
      return async (...args: unknown[]) => {
        const o = (at === undefined ? undefined : args[at]) as CallOptions | undefined;
        const started = Date.now();
        const timeoutMs = o?.timeoutMs !== undefined && o.timeoutMs > 0 ? o.timeoutMs : undefined;
        const got = await bucket.wait({ signal: o?.signal, ...(timeoutMs !== undefined ? { deadline: started + timeoutMs } : {}) });
        const limit = `rate limit of Provider "${name}" (qps ${bucket.qps}, burst ${bucket.burst})`;
        if (got === 'deadline') throw new ProviderError('Retryable', `${limit}: no token before the call deadline (timeout ${timeoutMs}ms)`, operation);
        if (got === 'aborted') throw new ProviderError('Retryable', `${limit}: the call was cancelled while waiting for a token`, operation);
        const waited = Date.now() - started;
        if (timeoutMs !== undefined && waited > 0) {
          // The deadline is the caller's: the provider gets what is left of it.
          const call = [...args];
          call[at!] = { ...o, timeoutMs: Math.max(1, timeoutMs - waited) };
          return (value as (...a: unknown[]) => unknown).apply(target, call);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
