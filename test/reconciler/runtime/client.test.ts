/** KubeClient against a real kube-apiserver. */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import { ApiError, CoreResources, isAlreadyExists, isConflict, isForbidden, isNotFound, KubeClient, Metrics } from '../../../src/reconciler/runtime';
import { ConfigMaps, configMap, createNamespace, CRDS, VMClasses, vmClass } from './helpers';

t.test('KubeClient', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([CRDS]);
  const metrics = new Metrics();
  const client = new KubeClient(cp.kubeConfig, { metrics });
  t.teardown(() => client.close());
  const ns = await createNamespace(client, 'rt-client');

  t.test('ConfigMap CRUD, 404 and 409', async (t) => {
    const created = await client.create(ConfigMaps, configMap(ns, 'cm1', { a: '1' }));
    t.equal(created.data.a, '1');
    t.ok(created.metadata.uid);
    const dup = await client.create(ConfigMaps, configMap(ns, 'cm1')).catch((e) => e);
    t.ok(isAlreadyExists(dup) && !isConflict(dup), 'create twice -> AlreadyExists');

    const got = await client.get(ConfigMaps, ns, 'cm1');
    t.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
    t.equal(await client.get(ConfigMaps, ns, 'nope'), undefined, 'get of a missing object is undefined');

    got.data.b = '2';
    const updated = await client.update(ConfigMaps, got);
    t.same(updated.data, { a: '1', b: '2' });
    // Writing the stale copy again must conflict.
    created.data.c = '3';
    const err = await client.update(ConfigMaps, created).catch((e) => e);
    t.ok(isConflict(err), 'stale resourceVersion -> 409');
    t.equal((err as ApiError).code, 409);
    t.match((err as ApiError).message, /^update \/api\/v1\/namespaces\/.*\/configmaps\/cm1: /);

    const merged = await client.patch(ConfigMaps, ns, 'cm1', { data: { m: 'x' } }, { type: 'merge' });
    t.equal(merged.data.m, 'x');
    const jsonPatched = await client.patch(ConfigMaps, ns, 'cm1', [{ op: 'remove', path: '/data/a' }], { type: 'json' });
    t.notOk('a' in jsonPatched.data);
    const strategic = await client.patch(ConfigMaps, ns, 'cm1', { metadata: { labels: { s: 'y' } } }, { type: 'strategic' });
    t.equal(strategic.metadata.labels.s, 'y');
    const applied = await client.patch(ConfigMaps, ns, 'cm2', configMap(ns, 'cm2', { ssa: 'yes' }), { type: 'apply', fieldManager: 'rt-test', force: true });
    t.equal(applied.data.ssa, 'yes');
    t.ok(applied.metadata.managedFields.some((f: any) => f.manager === 'rt-test'));

    const list = await client.list(ConfigMaps, ns, { limit: 1 });
    t.same(list.items.map((i) => i.metadata.name).sort(), ['cm1', 'cm2'], 'list follows continue pages');
    t.equal(list.items[0].kind, 'ConfigMap');
    t.ok(list.resourceVersion);
    const byLabel = await client.list(ConfigMaps, ns, { labelSelector: 's=y' });
    t.same(byLabel.items.map((i) => i.metadata.name), ['cm1']);

    const pre = await client.delete(ConfigMaps, ns, 'cm1', { preconditions: { uid: 'not-the-uid' } }).catch((e) => e);
    t.ok(isConflict(pre), 'delete with a wrong uid precondition conflicts');
    t.equal(await client.delete(ConfigMaps, ns, 'cm1', { propagationPolicy: 'Background' }), true);
    t.equal(await client.delete(ConfigMaps, ns, 'cm1'), false, 'delete of a missing object is false');
    const pe = await client.patch(ConfigMaps, ns, 'cm1', { data: {} }, { type: 'merge' }).catch((e) => e);
    t.ok(isNotFound(pe));
  });

  t.test('custom resource, unknown-to-client fields and the status subresource', async (t) => {
    const vc = vmClass(ns, 'small');
    vc.spec.firmware = 'UEFI';
    const created = await client.create(VMClasses, vc);
    t.equal(created.spec.firmware, 'UEFI', 'fields survive the round trip');
    t.equal(created.metadata.generation, 1);

    created.status = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Ok', message: 'fine', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    const withStatus = await client.updateStatus(VMClasses, created);
    t.equal(withStatus.status.conditions[0].type, 'Ready');
    t.equal(withStatus.metadata.generation, 1, 'status writes do not bump the generation');

    // A status written through the main resource is ignored by the server.
    withStatus.status.observedGeneration = 99;
    withStatus.spec.cpu = 4;
    const upd = await client.update(VMClasses, withStatus);
    t.equal(upd.status.observedGeneration, 1);
    t.equal(upd.metadata.generation, 2);

    const sp = await client.patch(VMClasses, ns, 'small', { status: { observedGeneration: 2 } }, { type: 'merge', subresource: 'status' });
    t.equal(sp.status.observedGeneration, 2);
    const got = await client.get(VMClasses, ns, 'small');
    t.equal(got.spec.cpu, 4);
    t.equal(got.status.observedGeneration, 2);

    const invalid = await client.create(VMClasses, { ...vmClass(ns, 'bad'), spec: { cpu: 'many' } }).catch((e) => e);
    t.type(invalid, ApiError);
    t.equal(invalid.code, 422);
  });

  t.test('403 names verb, resource and namespace', async (t) => {
    const sa = await cp.kubeconfigForServiceAccount(ns, 'nobody');
    const weak = new KubeClient(sa.kubeConfig);
    t.teardown(() => weak.close());
    const e1 = await weak.list(ConfigMaps, ns).catch((e) => e);
    t.ok(isForbidden(e1));
    t.match(e1.message, /cannot list configmaps in namespace "rt-client-[0-9a-f]+"/);
    const e2 = await weak.get(VMClasses, ns, 'small').catch((e) => e);
    t.match(e2.message, /cannot get vmclasses\.infra\.virtrigaud\.io in namespace/);
    const e3 = await weak.create(CoreResources.leases, { metadata: { name: 'x', namespace: ns } }).catch((e) => e);
    t.match(e3.message, /cannot create leases\.coordination\.k8s\.io in namespace/);
    t.match(e3.message, /system:serviceaccount:.*:nobody/, 'the server\'s message (who) is kept');
    const e4 = await weak.watch(ConfigMaps, ns, { resourceVersion: '' }, () => {}, new AbortController().signal).catch((e) => e);
    t.ok(isForbidden(e4));
    t.match(e4.message, /cannot watch configmaps in namespace/);
    const e5 = await weak.list(CoreResources.namespaces).catch((e) => e);
    t.match(e5.message, /cannot list namespaces \(cluster-scoped\)/);
  });

  t.test('stats and metrics count requests', async (t) => {
    const c = new KubeClient(cp.kubeConfig, { metrics: new Metrics() });
    t.teardown(() => c.close());
    await c.get(ConfigMaps, ns, 'cm2');
    await c.patch(ConfigMaps, ns, 'cm2', { data: { z: '1' } }, { type: 'merge' });
    await c.get(ConfigMaps, ns, 'missing');
    t.equal(c.stats.requests, 3);
    t.equal(c.stats.byVerb.get, 2);
    t.equal(c.stats.writes, 1);
    const text = metrics.render();
    t.match(text, /rest_client_requests_total\{code="200",verb="GET"\} \d+/);
    t.match(text, /rest_client_requests_total\{code="404",verb="GET"\} \d+/);
  });

  t.test('client-side rate limit', async (t) => {
    const slow = new KubeClient(cp.kubeConfig, { qps: 10, burst: 1 });
    t.teardown(() => slow.close());
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => slow.get(ConfigMaps, ns, 'cm2')));
    t.ok(Date.now() - t0 >= 450, `6 requests at 10 qps burst 1 take >= 0.5 s (took ${Date.now() - t0} ms)`);
  });
});
