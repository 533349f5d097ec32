/**
 * Informer under faults, on a private control plane: a compacted
 * resourceVersion (410 Gone -> relist with diffs) and a kube-apiserver
 * restart. ConfigMap watches bypass the watch cache so they hit etcd's
 * compaction (every second here).
 */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import { createLogger, Informer, KubeClient, objectKey } from '../../../src/reconciler/runtime';
import { ConfigMaps, configMap, createNamespace, delay, eventually } from './helpers';

const keys = (objs: any[]) => objs.map(objectKey).sort();

t.test('Informer faults', async (t) => {
  const cp = await useControlPlane(t, { private: true, apiServerArgs: ['--watch-cache-sizes=configmaps#0', '--etcd-compaction-interval=1s'] });
  const client = new KubeClient(cp.kubeConfig);
  t.teardown(() => client.close());
  const quiet = createLogger({ level: 'error' });

  t.test('410 Gone on a compacted resourceVersion: relist, differences emitted, cache converges', async (t) => {
    const ns = await createNamespace(client, 'rt-gone');
    for (let i = 0; i < 5; i++) await client.create(ConfigMaps, configMap(ns, `c${i}`));
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns, logger: quiet });
    const seen: string[] = [];
    inf.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    inf.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
    let updates = 0;
    inf.on('update', () => updates++);
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    inf.start(ctl.signal);
    await inf.waitForSync();
    seen.length = 0;
    // Let compaction pass the early revisions.
    for (let i = 0; i < 6; i++) {
      await client.patch(ConfigMaps, ns, 'c0', { data: { i: String(i) } }, { type: 'merge' });
      await delay(500);
    }
    await eventually('last patch seen', () => inf.get(`${ns}/c0`)?.data?.i === '5');
    updates = 0;
    // Make the cache disagree with the server, as if events had been missed.
    const store = (inf as any).store;
    store.delete(`${ns}/c1`);
    store.set(configMap(ns, 'phantom'));
    inf._watchFrom('2');
    await eventually('relist', () => inf.stats.relists >= 1, 20_000);
    const truth = keys((await client.list(ConfigMaps, ns)).items);
    await eventually('cache converged', () => JSON.stringify(keys(inf.list())) === JSON.stringify(truth));
    t.same(keys(inf.list()), truth);
    t.ok(seen.includes('add c1'), 'the missed object is added');
    t.ok(seen.includes('delete phantom'), 'the vanished object is deleted');
    t.equal(inf.stats.relists, 1);
    t.equal(updates, 0, 'unchanged objects (same resourceVersion) emit no update on relist');
  });

  t.test('survives a kube-apiserver restart and sees what changed meanwhile', async (t) => {
    const ns = await createNamespace(client, 'rt-restart');
    await client.create(ConfigMaps, configMap(ns, 'old'));
    await client.create(ConfigMaps, configMap(ns, 'doomed'));
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns, logger: quiet });
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    inf.start(ctl.signal);
    await inf.waitForSync();
    const watchesBefore = inf.stats.watches;

    await cp.restartApiServer();
    // Right after the restart the informer is still reconnecting (backoff): these land while it is blind.
    await client.create(ConfigMaps, configMap(ns, 'new'));
    await client.delete(ConfigMaps, ns, 'doomed');
    await client.patch(ConfigMaps, ns, 'old', { data: { changed: 'yes' } }, { type: 'merge' });

    await eventually('cache converged after restart', () => JSON.stringify(keys(inf.list())) === JSON.stringify([`${ns}/new`, `${ns}/old`]), 40_000, 100);
    await eventually('update seen', () => inf.get(`${ns}/old`)?.data?.changed === 'yes', 10_000);
    t.ok(inf.stats.watches > watchesBefore, `re-watched (${inf.stats.watches - watchesBefore} new watches, ${inf.stats.relists} relists)`);
    // And it keeps working afterwards.
    await client.create(ConfigMaps, configMap(ns, 'later'));
    await eventually('later seen', () => inf.get(`${ns}/later`));
    t.pass('watch healthy after the restart');
  });
});
