/** Informer against the shared API server: events, cache, indexes, bookmarks, watch renewal. */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import { Informer, KubeClient, objectKey } from '../../../src/reconciler/runtime';
import { ConfigMaps, configMap, createNamespace, delay, eventually } from './helpers';

t.test('Informer', async (t) => {
  const cp = await useControlPlane(t);
  const client = new KubeClient(cp.kubeConfig);
  t.teardown(() => client.close());

  t.test('list, then add/update/delete events and a consistent cache', async (t) => {
    const ns = await createNamespace(client, 'rt-inf');
    await client.create(ConfigMaps, configMap(ns, 'pre', { v: '0' }));
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns });
    const seen: string[] = [];
    inf.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    inf.on('update', (o, old) => seen.push(`update ${o.metadata.name} ${old?.data?.v}->${o.data?.v}`));
    inf.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
    inf.addIndex('v', (o) => [o.data?.v ?? '']);
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    t.notOk(inf.hasSynced());
    inf.start(ctl.signal);
    await inf.waitForSync();
    t.ok(inf.hasSynced());
    t.same(seen, ['add pre']);

    await client.create(ConfigMaps, configMap(ns, 'a', { v: '1' }));
    // Cached objects are shared: never mutate them, copy first.
    const a = structuredClone(await eventually('a in cache', () => inf.get(`${ns}/a`)));
    a.data.v = '2';
    await client.update(ConfigMaps, a);
    await eventually('update seen', () => inf.get(`${ns}/a`)?.data.v === '2');
    t.same(inf.byIndex('v', '2').map((o) => o.metadata.name), ['a']);
    t.same(inf.byIndex('v', '1'), [], 'index follows updates');
    await client.delete(ConfigMaps, ns, 'pre');
    await eventually('delete seen', () => !inf.get(`${ns}/pre`));
    t.same(seen, ['add pre', 'add a', 'update a 1->2', 'delete pre']);
    t.same(inf.list().map(objectKey), [`${ns}/a`]);
    t.equal(inf.stats.lists, 1);
    t.equal(inf.stats.relists, 0);
    t.ok(inf.stats.events >= 3);
  });

  t.test('bookmarks advance the resourceVersion without events', async (t) => {
    const watched = await createNamespace(client, 'rt-bm');
    const other = await createNamespace(client, 'rt-bm-other');
    const inf = new Informer<any>(client, ConfigMaps, { namespace: watched, watchTimeoutSeconds: 8 });
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    inf.start(ctl.signal);
    await inf.waitForSync();
    const startRV = Number(inf.resourceVersion);
    // Writes elsewhere move the global resourceVersion; the server reports progress by bookmarks.
    let i = 0;
    const writer = setInterval(() => void client.create(ConfigMaps, configMap(other, `w${i++}`)).catch(() => {}), 300);
    try {
      await eventually('a bookmark', () => Number(inf.resourceVersion) > startRV, 20_000, 200);
    } finally {
      clearInterval(writer);
    }
    t.equal(inf.list().length, 0, 'no objects from the other namespace');
    t.ok(inf.stats.events >= 1, 'bookmark events were received');
  });

  t.test('short server-side watch timeouts are renewed and the cache stays right', async (t) => {
    const ns = await createNamespace(client, 'rt-renew');
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns, watchTimeoutSeconds: 1 });
    let adds = 0;
    inf.on('add', () => adds++);
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    inf.start(ctl.signal);
    await inf.waitForSync();
    for (let i = 0; i < 8; i++) {
      await client.create(ConfigMaps, configMap(ns, `c${i}`));
      if (i % 2) await client.delete(ConfigMaps, ns, `c${i - 1}`);
      await delay(450);
    }
    const truth = (await client.list(ConfigMaps, ns)).items.map(objectKey).sort();
    await eventually('cache converged', () => JSON.stringify(inf.list().map(objectKey).sort()) === JSON.stringify(truth));
    t.same(inf.list().map(objectKey).sort(), truth);
    t.ok(inf.stats.watches >= 3, `watch renewed (${inf.stats.watches} watches)`);
    t.equal(inf.stats.lists, 1, 'renewal needs no relist');
    t.equal(adds, 8, 'each object added exactly once');
  });

  t.test('resync re-delivers cached objects as updates', async (t) => {
    const ns = await createNamespace(client, 'rt-resync');
    await client.create(ConfigMaps, configMap(ns, 'r'));
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns, resyncMs: 200 });
    let resyncs = 0;
    inf.on('update', (o, old) => {
      if (o === old) resyncs++;
    });
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    inf.start(ctl.signal);
    await eventually('resyncs', () => resyncs >= 2, 5000);
    t.ok(resyncs >= 2);
  });

  t.test('a stopped informer makes no more requests', async (t) => {
    const ns = await createNamespace(client, 'rt-stop');
    const c = new KubeClient(cp.kubeConfig);
    t.teardown(() => c.close());
    const inf = new Informer<any>(c, ConfigMaps, { namespace: ns });
    const ctl = new AbortController();
    inf.start(ctl.signal);
    await inf.waitForSync();
    await delay(100);
    ctl.abort();
    await delay(100);
    const before = c.stats.requests;
    await client.create(ConfigMaps, configMap(ns, 'after-stop'));
    await delay(500);
    t.equal(c.stats.requests, before);
    t.notOk(inf.get(`${ns}/after-stop`));
  });
});
