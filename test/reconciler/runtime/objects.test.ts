/** updateStatus, finalizers, conditions and events against the shared API server. */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import {
  addFinalizer, CoreResources, EventRecorder, getCondition, hasFinalizer, KubeClient, removeFinalizer, setCondition, updateStatus,
} from '../../../src/reconciler/runtime';
import { ConfigMaps, configMap, createNamespace, CRDS, VMClasses, vmClass } from './helpers';

t.test('conditions', async (t) => {
  const t1 = new Date('2026-01-01T00:00:00.456Z');
  const t2 = new Date('2026-01-02T00:00:00Z');
  let cs = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'm' }, t1);
  t.same(cs, [{ type: 'Ready', status: 'False', reason: 'Waiting', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  cs = setCondition(cs, { type: 'Ready', status: 'False', reason: 'Still', message: 'm2', observedGeneration: 2 }, t2);
  t.equal(cs[0].lastTransitionTime, '2026-01-01T00:00:00Z', 'same status keeps the transition time');
  t.equal(cs[0].reason, 'Still');
  t.equal(cs[0].observedGeneration, 2);
  const before = cs;
  cs = setCondition(cs, { type: 'Ready', status: 'True', reason: 'Done', message: '' }, t2);
  t.equal(cs[0].lastTransitionTime, '2026-01-02T00:00:00Z', 'status change moves it');
  t.equal(before[0].status, 'False', 'input not mutated');
  cs = setCondition(cs, { type: 'Other', status: 'Unknown', reason: 'X', message: '' }, t2);
  t.equal(cs.length, 2);
  t.equal(getCondition(cs, 'Other')?.status, 'Unknown');
  t.equal(getCondition(cs, 'Nope'), undefined);
});

t.test('against the API server', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([CRDS]);
  const client = new KubeClient(cp.kubeConfig);
  t.teardown(() => client.close());
  const ns = await createNamespace(client, 'rt-obj');

  t.test('updateStatus: concurrent writers both land; unchanged status is not written', async (t) => {
    const base = await client.create(VMClasses, vmClass(ns, 'conc'));
    const a = new KubeClient(cp.kubeConfig);
    const b = new KubeClient(cp.kubeConfig);
    t.teardown(() => (a.close(), b.close()));
    const set = (type: string) => (o: any) => {
      o.status ??= {};
      o.status.conditions = setCondition(o.status.conditions, { type, status: 'True', reason: 'R', message: type });
    };
    // Both start from the same (soon stale) copy: one of them must hit 409 and retry on a fresh read.
    const [ra, rb] = await Promise.all([updateStatus(a, VMClasses, base, set('A')), updateStatus(b, VMClasses, base, set('B'))]);
    t.ok(ra && rb);
    const stored = await client.get(VMClasses, ns, 'conc');
    t.same(stored.status.conditions.map((c: any) => c.type).sort(), ['A', 'B']);
    t.equal(a.stats.writes + b.stats.writes, 3, 'one conflict, one retry');
    t.equal((a.stats.byVerb.get ?? 0) + (b.stats.byVerb.get ?? 0), 1, 'the loser re-read once');

    const w = new KubeClient(cp.kubeConfig);
    t.teardown(() => w.close());
    const same = await updateStatus(w, VMClasses, stored, set('A'));
    t.equal(w.stats.writes, 0, 'setting an unchanged condition writes nothing');
    t.equal(same, stored);
    await updateStatus(w, VMClasses, stored, (o: any) => {
      o.status.observedGeneration = 7;
      return false;
    });
    t.equal(w.stats.writes, 0, 'mutate returning false writes nothing');
    t.notOk(stored.status.observedGeneration, 'the caller\'s object is not mutated');
    const updated = await updateStatus(w, VMClasses, stored, (o: any) => {
      o.status.observedGeneration = 1;
    });
    t.equal(w.stats.writes, 1);
    t.equal(updated.status.observedGeneration, 1);
  });

  t.test('finalizers with conflicts, and removal lets a deleted object go', async (t) => {
    const created = await client.create(VMClasses, vmClass(ns, 'fin'));
    // Make `created` stale.
    await client.patch(VMClasses, ns, 'fin', { metadata: { labels: { bump: '1' } } }, { type: 'merge' });
    const withF = await addFinalizer(client, VMClasses, created, 'infra.virtrigaud.io/test');
    t.ok(hasFinalizer(withF, 'infra.virtrigaud.io/test'));
    t.equal(withF.metadata.labels.bump, '1', 'the concurrent change is kept');
    const again = await addFinalizer(client, VMClasses, withF, 'infra.virtrigaud.io/test');
    t.same(again.metadata.finalizers, ['infra.virtrigaud.io/test'], 'adding twice is a no-op');
    const withTwo = await addFinalizer(client, VMClasses, withF, 'other/f');
    t.same(withTwo.metadata.finalizers, ['infra.virtrigaud.io/test', 'other/f']);

    await client.delete(VMClasses, ns, 'fin');
    const deleting = await client.get(VMClasses, ns, 'fin');
    t.ok(deleting.metadata.deletionTimestamp, 'held by finalizers');
    // Remove with a stale copy (withTwo predates the deletion): conflict, re-read, retry.
    const left = await removeFinalizer(client, VMClasses, withTwo, 'other/f');
    t.same(left?.metadata.finalizers, ['infra.virtrigaud.io/test']);
    await removeFinalizer(client, VMClasses, left, 'infra.virtrigaud.io/test');
    t.equal(await client.get(VMClasses, ns, 'fin'), undefined, 'gone once the last finalizer is removed');
    t.equal(await removeFinalizer(client, VMClasses, left, 'infra.virtrigaud.io/test'), undefined, 'removing from a gone object is undefined');
  });

  t.test('EventRecorder: events with involvedObject; repeats bump count', async (t) => {
    const cm = await client.create(ConfigMaps, configMap(ns, 'evt'));
    const rec = new EventRecorder(client, 'virtrigaud-test', { host: 'node-1' });
    rec.event(cm, 'Normal', 'Created', 'made it');
    rec.event(cm, 'Normal', 'Created', 'made it');
    rec.event(cm, 'Normal', 'Created', 'made it');
    rec.event(cm, 'Warning', 'Failed', 'oops');
    rec.event({ metadata: {} }, 'Normal', 'Broken', 'no name'); // must not throw
    await rec.flush();
    const events = (await client.list(CoreResources.events, ns)).items.filter((e: any) => e.involvedObject.name === 'evt');
    t.equal(events.length, 2);
    const created = events.find((e: any) => e.reason === 'Created');
    t.equal(created.count, 3);
    t.equal(created.type, 'Normal');
    t.equal(created.message, 'made it');
    t.same(created.involvedObject, { apiVersion: 'v1', kind: 'ConfigMap', name: 'evt', namespace: ns, uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion });
    t.same(created.source, { component: 'virtrigaud-test', host: 'node-1' });
    t.ok(created.lastTimestamp >= created.firstTimestamp);
    t.equal(events.find((e: any) => e.reason === 'Failed').type, 'Warning');
  });

  t.test('EventRecorder never throws and logs failures', async (t) => {
    const sa = await cp.kubeconfigForServiceAccount(ns, 'no-events');
    const weak = new KubeClient(sa.kubeConfig);
    t.teardown(() => weak.close());
    const logged: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string, kv?: any) => logged.push(`${m} ${kv?.error?.message}`), child() { return logger; } };
    const rec = new EventRecorder(weak, 'x', { logger });
    rec.event(configMap(ns, 'whatever'), 'Normal', 'R', 'm');
    await rec.flush();
    t.equal(logged.length, 1);
    t.match(logged[0], /forbidden: cannot create events in namespace/);
  });
});
