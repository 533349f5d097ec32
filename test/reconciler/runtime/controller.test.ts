/** Controller against the shared API server: predicates, retries, requeueAfter, shutdown, idle = no writes. */
import t, { type Test } from 'tap';
import { useControlPlane } from '../../../src/testenv';
import {
  Controller, getCondition, Informer, ItemExponentialRateLimiter, KubeClient, Metrics, parseKey, setCondition, updateStatus, type Result,
} from '../../../src/reconciler/runtime';
import { createNamespace, CRDS, delay, eventually, VMClasses, vmClass } from './helpers';

t.test('Controller', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([CRDS]);
  const client = new KubeClient(cp.kubeConfig);
  t.teardown(() => client.close());

  /** A controller on VMClasses of a fresh namespace, started; reconcile is given per test. */
  async function setup(t: Test, reconcile: (key: string, signal: AbortSignal) => Promise<Result | void>, extra: Partial<ConstructorParameters<typeof Controller>[0]> = {}) {
    const ns = await createNamespace(client, 'rt-ctl');
    const inf = new Informer<any>(client, VMClasses, { namespace: ns });
    const ctl = new AbortController();
    const c = new Controller({ name: `test-${ns}`, reconcile, ...extra });
    c.watch(inf);
    inf.start(ctl.signal);
    const done = c.start(ctl.signal);
    t.teardown(async () => {
      ctl.abort();
      await done;
    });
    return { ns, inf, ctl, c, done };
  }

  t.test('status-only updates do not reconcile; generation and label changes do', async (t) => {
    const calls: string[] = [];
    const { ns } = await setup(t, async (key) => {
      calls.push(key);
    });
    const created = await client.create(VMClasses, vmClass(ns, 'a'));
    await eventually('first reconcile', () => calls.length === 1);
    await client.updateStatus(VMClasses, { ...created, status: { observedGeneration: 1 } });
    await delay(500);
    t.equal(calls.length, 1, 'status-only update ignored');
    const cur = await client.get(VMClasses, ns, 'a');
    cur.spec.cpu = 8;
    await client.update(VMClasses, cur);
    await eventually('generation change reconciles', () => calls.length === 2);
    await client.patch(VMClasses, ns, 'a', { metadata: { labels: { x: 'y' } } }, { type: 'merge' });
    await eventually('label change reconciles', () => calls.length === 3);
    await client.delete(VMClasses, ns, 'a');
    await eventually('delete reconciles', () => calls.length === 4);
    t.same(calls, Array(4).fill(`${ns}/a`));
  });

  t.test('errors are retried with growing delays', async (t) => {
    const times: number[] = [];
    const { ns } = await setup(t, async () => {
      times.push(Date.now());
      if (times.length < 6) throw new Error('boom');
    }, { rateLimiter: new ItemExponentialRateLimiter(25, 10_000) });
    await client.create(VMClasses, vmClass(ns, 'flaky'));
    await eventually('six attempts', () => times.length >= 6, 10_000);
    const gaps = times.slice(1).map((x, i) => x - times[i]);
    t.ok(gaps[0] >= 20, `first retry after the base delay (${gaps})`);
    t.ok(gaps[4] >= 350, `fifth retry after ~400 ms (${gaps})`);
    t.ok(gaps[4] > gaps[1] * 2, `delays grow (${gaps})`);
    await delay(300);
    t.equal(times.length, 6, 'success stops the retries');
  });

  t.test('requeueAfter is respected; one key is never reconciled twice at once', async (t) => {
    const times: number[] = [];
    let active = 0;
    let overlap = false;
    const { ns, c } = await setup(t, async () => {
      if (active++) overlap = true;
      times.push(Date.now());
      await delay(30);
      active--;
      return times.length < 3 ? { requeueAfterMs: 300 } : undefined;
    }, { workers: 4 });
    await client.create(VMClasses, vmClass(ns, 'periodic'));
    await eventually('three runs', () => times.length >= 3, 5000);
    for (let i = 0; i < 20; i++) c.queue.add(`${ns}/periodic`);
    await delay(200);
    t.notOk(overlap, 'no concurrent reconciles of one key');
    t.ok(times[1] - times[0] >= 290, `second run after 300 ms (${times[1] - times[0]})`);
    t.ok(times[2] - times[1] >= 290);
  });

  t.test('idle means no writes: a status reconciler writes once', async (t) => {
    const writer = new KubeClient(cp.kubeConfig);
    t.teardown(() => writer.close());
    let inf!: Informer<any>;
    let runs = 0;
    const s = await setup(t, async (key) => {
      runs++;
      const { namespace, name } = parseKey(key);
      const obj = inf.get(key) ?? (await writer.get(VMClasses, namespace, name));
      if (!obj) return;
      await updateStatus(writer, VMClasses, obj, (o: any) => {
        o.status ??= {};
        o.status.observedGeneration = o.metadata.generation;
        o.status.conditions = setCondition(o.status.conditions, { type: 'Ready', status: 'True', reason: 'Valid', message: 'ok', observedGeneration: o.metadata.generation });
      });
    });
    inf = s.inf;
    await client.create(VMClasses, vmClass(s.ns, 'steady'));
    await eventually('status written', () => getCondition(inf.get(`${s.ns}/steady`)?.status?.conditions, 'Ready'));
    const writes = writer.stats.writes;
    t.equal(writes, 1);
    for (let i = 0; i < 5; i++) {
      s.c.queue.add(`${s.ns}/steady`);
      await delay(50);
    }
    await delay(200);
    t.ok(runs >= 3, 'reconciled again');
    t.equal(writer.stats.writes, writes, 'but wrote nothing');
  });

  t.test('start resolves after in-flight reconciles finish; metrics recorded', async (t) => {
    const metrics = new Metrics();
    let finished = false;
    let started = false;
    const { ns, ctl, done } = await setup(t, async () => {
      started = true;
      await delay(400);
      finished = true;
    }, { metrics, workers: 1 });
    await client.create(VMClasses, vmClass(ns, 'slow'));
    await eventually('reconcile started', () => started);
    ctl.abort();
    await done;
    t.ok(finished, 'in-flight reconcile completed before start() resolved');
    t.match(metrics.render(), /controller_runtime_reconcile_total\{controller="test-rt-ctl-[0-9a-f]+",result="success"\} 1/);
  });
});
