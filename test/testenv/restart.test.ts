/** restartApiServer(): kill kube-apiserver of an owned control plane and start it again. */
import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { attachControlPlane, useControlPlane } from '../../src/testenv';

t.test('an owned control plane restarts its API server; data survives', async (t) => {
  const cp = await useControlPlane(t, { private: true });
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'before-restart' } } });
  let crashed = false;
  void cp.crashed.then(() => (crashed = true));

  const t0 = Date.now();
  await cp.restartApiServer();
  t.ok(Date.now() - t0 < 60_000);
  // Ready again: the same URL and credentials work, etcd's data is still there.
  const ns = await core.readNamespace({ name: 'before-restart' });
  t.equal(ns.metadata?.name, 'before-restart');
  await core.createNamespace({ body: { metadata: { name: 'after-restart' } } });
  const r = await cp.kubectl(['get', 'ns', 'after-restart', '-o', 'name']);
  t.equal(r.stdout.trim(), 'namespace/after-restart');
  t.equal(r.code, 0);
  await new Promise((res) => setTimeout(res, 100));
  t.notOk(crashed, 'a restart is not reported as a crash');

  // A second restart works too (the replacement is tracked).
  await cp.restartApiServer();
  t.equal((await core.readNamespace({ name: 'after-restart' })).metadata?.name, 'after-restart');
  t.notOk(crashed);
});

t.test('an attached (shared) control plane refuses', async (t) => {
  // Run in the suite, this is the shared plane; run alone, attach to the file's own one, as another process would.
  const cp = await useControlPlane(t);
  const attached = cp.owned ? attachControlPlane(cp.state) : cp;
  t.notOk(attached.owned, 'the plane under test is attached, not owned');
  await t.rejects(attached.restartApiServer(), /only an owned control plane/);
  const core = attached.kubeConfig.makeApiClient(CoreV1Api);
  t.ok((await core.listNamespace()).items.length > 0, 'an attached plane still serves requests after refusing');
});
