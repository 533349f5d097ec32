/** Provider spec.rateLimit: a token bucket in front of every provider call. */
import t from 'tap';
import { MemoryProvider } from '../../src/providers/memory';
import { rateLimited, TokenBucket } from '../../src/providers/rate-limit';

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
