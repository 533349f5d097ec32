/**
 * Watches that expire (410 Gone) under the operator: a private control
 * plane compacts etcd every second, the operator's informers are made to
 * re-watch from a compacted resourceVersion (the informer's test hook, as in
 * test/reconciler/runtime/informer-faults.test.ts) while VMs are created
 * and deleted. They must relist, and new VMs and deletions still converge,
 * both those made around the expiry and after it.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { allInformers } from '../../../src/reconciler/informers';
import { createFixtures, operatorEnv, vmObject } from '../support/env';
import { deleteAllAndWait, delay, errorLines, eventually, listVMs, memoryRegistry, waitAllConverged } from '../support/faults-helpers';

t.test('watch expiry (410 Gone) under the operator', async (t) => {
  const env = await operatorEnv(t, { private: true, apiServerArgs: ['--etcd-compaction-interval=1s'] });
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  const mem = memoryRegistry({ asyncTasks: { completeAfterMs: 200 } });
  const running = await env.start({ registry: mem.registry });
  const op = running.operator;

  for (let i = 0; i < 4; i++) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, `old-${i}`));
  await waitAllConverged(env, 4);

  // Move etcd's revision on and let compaction pass the revisions the watches started at.
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'churn', namespace: env.ns }, data: {} as Record<string, string> };
  await env.admin.create(CoreResources.configMaps, cm);
  for (let i = 0; i < 6; i++) {
    await env.admin.patch(CoreResources.configMaps, env.ns, 'churn', { data: { i: String(i) } }, { type: 'merge' });
    await delay(400);
  }

  const informers = allInformers(op.informers);
  const relistsBefore = informers.map((i) => i.stats.relists);
  for (const inf of informers) inf._watchFrom('2');
  // Changes made right at the expiry: the relist must deliver whatever the dead watch missed.
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'at-expiry'));
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'old-0');

  // Each informer notices its own 410 when its new watch starts: wait for all of them.
  await eventually('every informer relisted', () => informers.every((inf, i) => inf.stats.relists > relistsBefore[i]!), 20_000).catch(() => undefined);
  const relisted = informers.filter((inf, i) => inf.stats.relists > relistsBefore[i]!).map((i) => i.resource.plural);
  t.comment(`relisted after 410: ${relisted.join(', ')}`);
  t.ok(op.informers.vms.stats.relists >= 1, `the VM informer relisted (${op.informers.vms.stats.relists})`);
  // A watch the server did not expire (the API server's watch cache of a built-in kind it holds nothing of may still
  // serve the old resourceVersion) must then still deliver: shown with a probe object for each such informer.
  const notRelisted = informers.filter((inf, i) => inf.stats.relists <= relistsBefore[i]!);
  t.ok(notRelisted.every((inf) => inf === op.informers.revisions), `only the ControllerRevision informer may keep its watch (kept: ${notRelisted.map((i) => i.resource.plural).join(', ') || 'none'})`);
  if (notRelisted.includes(op.informers.revisions)) {
    await env.admin.create(CoreResources.controllerRevisions, { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'probe', namespace: env.ns, labels: { 'vmset.infra.virtrigaud.io/name': 'probe' } }, data: {}, revision: 1 });
    t.ok(await eventually('the probe revision arrives', () => op.informers.revisions.get(`${env.ns}/probe`), 10_000).catch(() => undefined), 'its watch still delivers');
  }
  t.ok(running.logs.some((l) => l.includes('watch resourceVersion expired')), 'the expiry was logged');

  // And after the relist the watches work again: these are seen only through them.
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'after-expiry'));
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'old-1');
  const vms = await waitAllConverged(env, 4, 30_000);
  await eventually('old-0 and old-1 released', async () => (await listVMs(env)).length === 4, 30_000);
  t.same((await listVMs(env)).map((v) => v.metadata.name).sort(), ['after-expiry', 'at-expiry', 'old-2', 'old-3'], 'created ones exist, deleted ones are released');
  t.equal(vms.length, 4, 'all four converged');
  const onProvider = (await mem.latest().listVMs()).map((v) => v.name).sort();
  t.same(onProvider, ['after-expiry', 'at-expiry', 'old-2', 'old-3'], 'the provider has exactly these VMs');
  t.same(errorLines(running.logs), [], 'no error logged');

  await deleteAllAndWait(env);
  t.equal((await mem.latest().listVMs()).length, 0, 'deletions converge after the expiry');
});
