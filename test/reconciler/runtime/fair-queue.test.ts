/** Fair work queue: round-robin across shards, the per-shard in-flight cap, shard metrics (no API server needed). */
import t from 'tap';
import { Controller, ItemExponentialRateLimiter, Metrics, WorkQueue } from '../../../src/reconciler/runtime';
import { delay, eventually } from './helpers';

/** Shard = the part of the key before the first dash. */
const byPrefix = (key: string) => key.split('-')[0]!;

async function takeN(q: WorkQueue, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await q.get())!);
  return out;
}

t.test('workers take keys round-robin across shards, oldest first within a shard', async (t) => {
  const q = new WorkQueue({ shardOf: byPrefix, perShardConcurrency: 10 });
  for (const k of ['a-1', 'a-2', 'a-3', 'a-4', 'b-1', 'b-2', 'c-1']) q.add(k);
  t.equal(q.len(), 7);
  t.same(await takeN(q, 7), ['a-1', 'b-1', 'c-1', 'a-2', 'b-2', 'a-3', 'a-4'], 'a backlog in shard a does not delay b and c');
  t.equal(q.len(), 0);
  t.equal(q.processingCount(), 7);
});

t.test('a shard that appears joins the round last', async (t) => {
  const q = new WorkQueue({ shardOf: byPrefix });
  for (const k of ['a-1', 'a-2', 'b-1', 'b-2']) q.add(k);
  t.equal(await q.get(), 'a-1');
  q.add('c-1');
  t.same(await takeN(q, 3), ['b-1', 'c-1', 'a-2'], 'c after b, before a has its second turn');
});

t.test('a shard never has more than perShardConcurrency keys in flight', async (t) => {
  const q = new WorkQueue({ shardOf: byPrefix, perShardConcurrency: 2 });
  for (let i = 0; i < 5; i++) q.add(`slow-${i}`);
  t.same(await takeN(q, 2), ['slow-0', 'slow-1']);
  let third: string | undefined;
  void q.get().then((k) => (third = k));
  await delay(20);
  t.equal(third, undefined, 'the third key of a full shard waits although it is queued');
  t.equal(q.len(), 3);
  q.add('fast-0');
  await delay(0);
  t.equal(third, 'fast-0', 'a key of another shard is handed out to the waiting worker at once');
  q.done('slow-0');
  t.equal(await q.get(), 'slow-2', 'done() frees the shard for its next key');
  t.same(Object.fromEntries(q.shardStats()), { slow: { depth: 2, inFlight: 2 }, fast: { depth: 0, inFlight: 1 } });
});

t.test('dedupe and one worker per key hold across shards; the shard is looked up when the key is queued', async (t) => {
  const shardOf = new Map<string, string>([['vm', 'p1']]);
  const q = new WorkQueue({ shardOf: (k) => shardOf.get(k) ?? 'none', perShardConcurrency: 1 });
  q.add('vm');
  q.add('vm');
  t.equal(q.len(), 1, 'queued once');
  t.equal(await q.get(), 'vm');
  shardOf.set('vm', 'p2'); // the VM moved to another Provider while being reconciled
  q.add('vm');
  t.equal(q.len(), 0, 'not queued while being processed');
  let again: string | undefined;
  void q.get().then((k) => (again = k));
  await delay(20);
  t.equal(again, undefined, 'not handed to a second worker');
  q.done('vm');
  await delay(0);
  t.equal(again, 'vm', 're-queued after done');
  t.same([...q.shardStats().keys()], ['p2'], 'into the shard of its new Provider; the empty one is gone');
});

t.test('per-item backoff and addAfter still apply in a sharded queue', async (t) => {
  const q = new WorkQueue({ shardOf: byPrefix, rateLimiter: new ItemExponentialRateLimiter(40, 1000) });
  q.addRateLimited('a-1');
  q.addRateLimited('a-1');
  t.equal(q.numRequeues('a-1'), 2);
  t.equal(q.len(), 0, 'not queued before its delay');
  q.addAfter('b-1', 10);
  const t0 = Date.now();
  t.equal(await q.get(), 'b-1');
  t.equal(await q.get(), 'a-1');
  t.ok(Date.now() - t0 >= 35, `a-1 came after its 40 ms backoff (${Date.now() - t0} ms)`);
  q.forget('a-1');
  t.equal(q.numRequeues('a-1'), 0);
});

t.test('shutdown drains a full shard as its keys finish, then get returns undefined', async (t) => {
  const q = new WorkQueue({ shardOf: byPrefix, perShardConcurrency: 1 });
  q.add('a-1');
  q.add('a-2');
  t.equal(await q.get(), 'a-1');
  const next = q.get();
  q.shutDown();
  let got: string | undefined | null = null;
  void next.then((k) => (got = k));
  await delay(10);
  t.equal(got, null, 'a-2 stays queued behind the cap after shutdown');
  q.done('a-1');
  t.equal(await next, 'a-2');
  q.done('a-2');
  t.equal(await q.get(), undefined);
  t.throws(() => new WorkQueue({ shardOf: byPrefix, perShardConcurrency: 0 }), /perShardConcurrency must be at least 1/);
});

t.test('shard depth and in-flight metrics; a shard series is dropped when the shard empties', async (t) => {
  const metrics = new Metrics();
  const q = new WorkQueue({ name: 'fair', metrics, shardOf: byPrefix, perShardConcurrency: 1 });
  q.add('ns/p1-a');
  q.add('ns/p1-b');
  q.add('ns/p2-a');
  let text = metrics.render();
  t.match(text, /workqueue_shard_depth\{name="fair",shard="ns\/p1"\} 2/);
  t.match(text, /workqueue_shard_depth\{name="fair",shard="ns\/p2"\} 1/);
  t.match(text, /workqueue_depth\{name="fair"\} 3/);
  t.same(await takeN(q, 2), ['ns/p1-a', 'ns/p2-a']);
  text = metrics.render();
  t.match(text, /workqueue_shard_depth\{name="fair",shard="ns\/p1"\} 1/);
  t.match(text, /workqueue_shard_in_flight\{name="fair",shard="ns\/p1"\} 1/);
  t.match(text, /workqueue_shard_in_flight\{name="fair",shard="ns\/p2"\} 1/);
  q.done('ns/p2-a');
  text = metrics.render();
  t.notMatch(text, /shard="ns\/p2"/, 'p2 has nothing queued or in flight: no series');
  t.match(text, /workqueue_shard_in_flight\{name="fair",shard="ns\/p1"\} 1/);
  q.done('ns/p1-a');
  q.done((await q.get())!);
  t.notMatch(metrics.render(), /^workqueue_shard_/m, 'no shard series once the queue is idle');
  t.match(metrics.render(), /workqueue_depth\{name="fair"\} 0/);
});

t.test('a controller: a slow shard holds at most its cap of the workers; the others keep flowing', async (t) => {
  let slowActive = 0;
  let slowMax = 0;
  let active = 0;
  let activeMax = 0;
  const finished: string[] = [];
  const c = new Controller({
    name: 'fair-test',
    workers: 5,
    shardOf: byPrefix,
    perShardConcurrency: 2,
    reconcile: async (key) => {
      activeMax = Math.max(activeMax, ++active);
      const slow = key.startsWith('slow');
      if (slow) slowMax = Math.max(slowMax, ++slowActive);
      await delay(slow ? 400 : 10);
      if (slow) slowActive--;
      active--;
      finished.push(key);
    },
  });
  for (let i = 0; i < 8; i++) c.queue.add(`slow-${i}`);
  for (let i = 0; i < 30; i++) c.queue.add(`fast-${i}`);
  const ctl = new AbortController();
  const t0 = Date.now();
  const running = c.start(ctl.signal);
  await eventually('all fast keys done', () => finished.filter((k) => k.startsWith('fast')).length === 30, 5_000, 5);
  const fastDone = Date.now() - t0;
  const slowDoneByThen = finished.filter((k) => k.startsWith('slow')).length;
  ctl.abort();
  await running;
  t.equal(slowMax, 2, 'never more than 2 slow keys at once');
  t.ok(activeMax <= 5, `never more than the 5 workers (${activeMax})`);
  // 30 fast keys of 10 ms on the 3 workers the slow shard leaves: ~100 ms, well before the slow ones (4 rounds of 400 ms).
  t.ok(fastDone < 380, `the fast shard finished in ${fastDone} ms, before the first slow keys did`);
  t.equal(slowDoneByThen, 0, 'no slow key had finished yet');
});
