/** WorkQueue and rate limiters (no API server needed). */
import t from 'tap';
import { defaultControllerRateLimiter, ItemExponentialRateLimiter, Metrics, WorkQueue } from '../../../src/reconciler/runtime';
import { delay } from './helpers';

t.test('a key queued twice is processed once', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.len(), 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  t.equal(q.len(), 0);
});

t.test('a key added while processing is re-queued after done, never handed out twice at once', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  q.add('a');
  t.equal(q.len(), 0, 'not queued while being processed');
  let second: string | undefined;
  void q.get().then((v) => (second = v));
  await delay(20);
  t.equal(second, undefined, 'a second worker does not get the key being processed');
  q.done(k!);
  await delay(0);
  t.equal(second, 'a', 're-queued after done');
  q.done('a');
  t.equal(q.len(), 0);
});

t.test('concurrent workers never process one key at the same time', async (t) => {
  const q = new WorkQueue();
  const active = new Set<string>();
  let overlaps = 0;
  let processed = 0;
  const worker = async () => {
    for (;;) {
      const k = await q.get();
      if (k === undefined) return;
      if (active.has(k)) overlaps++;
      active.add(k);
      await delay(Math.random() * 5);
      active.delete(k);
      processed++;
      q.done(k);
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  for (let i = 0; i < 200; i++) {
    q.add(`k${i % 5}`);
    if (i % 10 === 0) await delay(1);
  }
  await delay(100);
  q.shutDown();
  await Promise.all(workers);
  t.equal(overlaps, 0);
  t.ok(processed >= 5 && processed < 200, `dedupe collapsed adds (${processed} processed)`);
});

t.test('addAfter: ordering, and the earlier of two deadlines wins', async (t) => {
  const q = new WorkQueue();
  q.addAfter('late', 80);
  q.addAfter('early', 20);
  q.addAfter('x', 200);
  q.addAfter('x', 40); // earlier wins
  q.addAfter('early', 500); // later one is ignored
  const t0 = Date.now();
  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    const k = (await q.get())!;
    order.push(k);
    q.done(k);
  }
  t.same(order, ['early', 'x', 'late']);
  t.ok(Date.now() - t0 < 190, 'x came at its earlier deadline');
  q.addAfter('now', 0);
  t.equal(q.len(), 1, 'addAfter(0) adds at once');
});

t.test('rate limiter: exponential growth, cap, forget resets', async (t) => {
  const rl = new ItemExponentialRateLimiter(5, 100);
  t.same([1, 2, 3, 4, 5, 6].map(() => rl.when('a')), [5, 10, 20, 40, 80, 100]);
  t.equal(rl.retries('a'), 6);
  t.equal(rl.when('b'), 5, 'per key');
  rl.forget('a');
  t.equal(rl.retries('a'), 0);
  t.equal(rl.when('a'), 5);

  const def = defaultControllerRateLimiter({ baseDelayMs: 10, maxDelayMs: 1000, qps: 1, burst: 2 });
  t.equal(def.when('k1'), 10);
  t.equal(def.when('k2'), 10);
  // The bucket (burst 2, 1 qps) is empty now: the third retry waits ~1 s, whatever the key.
  t.ok(def.when('k3') >= 900, 'overall bucket limits retries of all keys');
  t.equal(def.retries('k1'), 1);
});

t.test('addRateLimited and numRequeues', async (t) => {
  const metrics = new Metrics();
  const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter(10, 1000), name: 'rl', metrics });
  q.addRateLimited('a');
  q.addRateLimited('a');
  t.equal(q.numRequeues('a'), 2);
  t.equal(q.len(), 0, 'not queued before its delay');
  const t0 = Date.now();
  t.equal(await q.get(), 'a');
  t.ok(Date.now() - t0 >= 5);
  q.done('a');
  q.forget('a');
  t.equal(q.numRequeues('a'), 0);
  const text = metrics.render();
  t.match(text, /workqueue_retries_total\{name="rl"\} 2/);
  t.match(text, /workqueue_adds_total\{name="rl"\} 1/);
  t.match(text, /workqueue_work_duration_seconds_count\{name="rl"\} 1/);
  t.match(text, /workqueue_depth\{name="rl"\} 0/);
});

t.test('shutdown drains, then get returns undefined', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('a');
  t.equal(await waiting, 'a');
  q.add('b');
  q.add('c');
  q.addAfter('later', 10);
  q.shutDown();
  t.ok(q.shuttingDown());
  q.add('d');
  t.equal(await q.get(), 'b');
  t.equal(await q.get(), 'c');
  t.equal(await q.get(), undefined);
  const blocked = new WorkQueue();
  const p = blocked.get();
  blocked.shutDown();
  t.equal(await p, undefined, 'a waiting get is released by shutDown');
  await delay(20);
  t.equal(q.len(), 0, 'delayed adds are dropped after shutdown');
});
