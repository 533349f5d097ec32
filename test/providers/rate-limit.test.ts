/** Provider spec.rateLimit: a token bucket in front of every provider call, within each call's deadline and signal. */
import t from 'tap';
import { MemoryProvider } from '../../src/providers/memory';
import { ProviderError } from '../../src/providers/provider';
import { rateLimited } from '../../src/providers/rate-limit';
import { TokenBucket } from '../../src/reconciler/runtime/ratelimit';

t.test('calls beyond the burst wait for tokens at qps; close is never limited', async (t) => {
  const provider = rateLimited(new MemoryProvider({ credentials: { username: 'u' } }), new TokenBucket(10, 2));
  const started = Date.now();
  await Promise.all(Array.from({ length: 6 }, () => provider.validate()));
  const elapsed = Date.now() - started;
  // 2 at once (burst), then 4 more at 10/s: at least ~400 ms.
  t.ok(elapsed >= 350, `6 calls took ${elapsed} ms with qps 10, burst 2`);
  t.ok(elapsed < 2_000, 'and not much longer');
  const closing = Date.now();
  await provider.close();
  t.ok(Date.now() - closing < 100, 'close does not wait for a token');
});

t.test('callers are served in order', async (t) => {
  const bucket = new TokenBucket(50, 1);
  const order: number[] = [];
  await Promise.all(Array.from({ length: 5 }, (_, i) => bucket.take().then(() => order.push(i))));
  t.same(order, [0, 1, 2, 3, 4]);
});

t.test('a call whose token would come after its deadline fails at once and takes no token', async (t) => {
  const bucket = new TokenBucket(2, 1); // one token now, the next in 500 ms
  const provider = rateLimited(new MemoryProvider({ credentials: { username: 'u' } }), bucket, 'team-a/lab');
  await provider.validate();
  const t0 = Date.now();
  const err = await provider.describe('vm-1', { timeoutMs: 200 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const took = Date.now() - t0;
  t.ok(err instanceof ProviderError, 'a ProviderError');
  t.equal((err as ProviderError).category, 'Retryable');
  t.equal((err as ProviderError).operation, 'Describe');
  t.equal((err as ProviderError).message, 'rate limit of Provider "team-a/lab" (qps 2, burst 1): no token before the call deadline (timeout 200ms)');
  t.ok(took < 100, `failed without waiting (${took} ms)`);
  // The refused call took no token: a call with time enough gets the next one when it is due (~500 ms after the first).
  const waited = Date.now();
  await provider.validate({ timeoutMs: 2_000 });
  const w = Date.now() - waited;
  t.ok(w < 520, `the next token was not consumed by the refused call (waited ${w} ms)`);
});

t.test('an aborted signal ends the wait and gives the token back', async (t) => {
  const bucket = new TokenBucket(1, 1);
  const provider = rateLimited(new MemoryProvider({ credentials: { username: 'u' } }), bucket, 'team-a/lab');
  await provider.validate();
  const ctl = new AbortController();
  const t0 = Date.now();
  const pending = provider.listVMs({ signal: ctl.signal, timeoutMs: 5_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  setTimeout(() => ctl.abort(), 100);
  const err = await pending;
  const took = Date.now() - t0;
  t.ok(err instanceof ProviderError && err.category === 'Retryable', 'a retryable ProviderError');
  t.match((err as Error).message, /^rate limit of Provider "team-a\/lab" \(qps 1, burst 1\): the call was cancelled while waiting for a token$/);
  t.ok(took >= 90 && took < 400, `the wait ended with the abort (${took} ms), not with the token (1 s)`);
  t.equal(await bucket.wait({ signal: AbortSignal.abort() }), 'aborted', 'an already aborted signal does not wait');
  // The cancelled reservation was returned: the next token is due ~1 s after the first call, not ~2 s.
  const next = Date.now();
  await bucket.take();
  t.ok(Date.now() - t0 < 1_100, `the next caller got the returned token (${Date.now() - next} ms wait)`);
});

t.test('the provider gets what is left of the deadline after the wait', async (t) => {
  const memory = new MemoryProvider({ credentials: { username: 'u' } });
  const provider = rateLimited(memory, new TokenBucket(5, 1), 'team-a/lab'); // next token 200 ms after the first
  await provider.validate();
  memory.faults.failNext('Validate', 'timeout'); // the memory provider hangs until the deadline it is given
  const t0 = Date.now();
  await t.rejects(provider.validate({ timeoutMs: 800 }), { category: 'Retryable', message: /deadline exceeded/ });
  const took = Date.now() - t0;
  t.ok(took >= 750 && took < 950, `the call ended at its own deadline, wait included (${took} ms for 800 ms), not 200 ms later`);
});

t.test('the bucket: tryReserve takes nothing past its bound; reservations queue in order', async (t) => {
  const b = new TokenBucket(10, 2);
  t.equal(b.tryReserve(0), 0);
  t.equal(b.tryReserve(0), 0);
  t.equal(b.tryReserve(50), undefined, 'the third token is 100 ms away');
  const w = b.tryReserve(150)!;
  t.ok(w > 50 && w <= 100, `reserved with a wait of ${w} ms`);
  t.ok(b.reserve() > w, 'the next reservation waits longer');
  t.equal(await b.wait({ deadline: Date.now() + 10 }), 'deadline');
  t.equal(new TokenBucket(0, 0).tryReserve(0), 0, 'qps 0: unlimited');
});
