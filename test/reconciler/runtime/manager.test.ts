/** Probe servers and Manager (leader election, informers, graceful shutdown). */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import {
  Controller, CoreResources, Informer, KubeClient, LeaderElectionLostError, Manager, Metrics, nopLogger, startProbeServers, WorkQueue,
} from '../../../src/reconciler/runtime';
import { ConfigMaps, configMap, createNamespace, delay, eventually } from './helpers';

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
};

t.test('probe servers', async (t) => {
  const metrics = new Metrics();
  const q = new WorkQueue({ name: 'probe-q', metrics });
  q.add('x');
  let ready = false;
  const s = await startProbeServers({ healthProbeBindAddress: '127.0.0.1:0', metricsBindAddress: '127.0.0.1:0', metrics, ready: () => ready });
  t.teardown(() => s.close());
  t.ok(s.healthPort > 0 && s.metricsPort > 0 && s.healthPort !== s.metricsPort);
  t.same(await get(s.healthPort, '/healthz'), { status: 200, body: 'ok' });
  t.equal((await get(s.healthPort, '/readyz')).status, 500);
  ready = true;
  t.same(await get(s.healthPort, '/readyz'), { status: 200, body: 'ok' }, 'readyz flips');
  t.equal((await get(s.healthPort, '/nope')).status, 404);
  const m = await get(s.metricsPort, '/metrics');
  t.equal(m.status, 200);
  t.match(m.body, /# TYPE workqueue_depth gauge\nworkqueue_depth\{name="probe-q"\} 1/);
  t.match(m.body, /process_resident_memory_bytes \d+/);
  t.match(m.body, /process_cpu_seconds_total [\d.]+/);

  const off = await startProbeServers({ healthProbeBindAddress: '127.0.0.1:0', metricsBindAddress: '0', metrics, ready: () => true });
  t.equal(off.metricsPort, 0, '"0" disables the metrics server');
  await off.close();
  await t.rejects(startProbeServers({ healthProbeBindAddress: `127.0.0.1:${s.healthPort}`, metricsBindAddress: '0', metrics, ready: () => true }), /EADDRINUSE/);
});

t.test('Manager', async (t) => {
  const cp = await useControlPlane(t);
  const admin = new KubeClient(cp.kubeConfig);
  t.teardown(() => admin.close());
  const ns = await createNamespace(admin, 'rt-mgr');

  let standby: ReturnType<typeof replica> | undefined;
  function replica(identity: string) {
    const metrics = new Metrics();
    const client = new KubeClient(cp.kubeConfig, { metrics });
    t.teardown(() => client.close());
    const mgr = new Manager({
      client, logger: nopLogger, metrics,
      leaderElection: { namespace: ns, name: 'mgr', identity, leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 },
      healthProbeBindAddress: '127.0.0.1:0', metricsBindAddress: '127.0.0.1:0',
    });
    const inf = new Informer<any>(client, ConfigMaps, { namespace: ns });
    const reconciled: string[] = [];
    const c = new Controller({ name: `cm-${identity}`, metrics, reconcile: async (key) => void reconciled.push(key) });
    c.watch(inf);
    mgr.addInformer(inf);
    mgr.add(c);
    const ctl = new AbortController();
    const done = mgr.start(ctl.signal);
    done.catch(() => {});
    t.teardown(async () => {
      ctl.abort();
      await done.catch(() => {});
    });
    return { mgr, inf, reconciled, ctl, done, client };
  }

  t.test('one leader runs the controllers; the standby takes over after a graceful stop', async (t) => {
    await admin.create(ConfigMaps, configMap(ns, 'one'));
    const a = replica('a');
    await eventually('a leads and reconciles', () => a.reconciled.length > 0);
    const b = (standby = replica('b'));
    await eventually('b probes up', () => b.mgr.healthPort > 0);
    t.equal((await get(b.mgr.healthPort, '/readyz')).status, 200, 'a standby replica is ready');
    t.equal((await get(a.mgr.healthPort, '/readyz')).status, 200);
    t.same(a.reconciled, [`${ns}/one`]);
    await delay(500);
    t.same(b.reconciled, [], 'the standby does nothing');
    t.notOk(b.inf.hasSynced(), 'nor does it start informers');
    const metrics = (await get(a.mgr.metricsPort, '/metrics')).body;
    t.match(metrics, /rest_client_requests_total\{code="200",verb="GET"\} \d+/);
    t.match(metrics, /workqueue_adds_total\{name="cm-a"\} 1/);
    t.match(metrics, /controller_runtime_reconcile_total\{controller="cm-a",result="success"\} 1/);

    const healthPort = a.mgr.healthPort;
    a.ctl.abort();
    await a.done;
    t.equal((await admin.get(CoreResources.leases, ns, 'mgr')).spec.holderIdentity, '', 'lease released on shutdown');
    await t.rejects(get(healthPort, '/healthz'), 'probe server closed');
    await eventually('b takes over', () => b.reconciled.length > 0, 5000);
    t.same(b.reconciled, [`${ns}/one`]);
  });

  t.test('a replica that loses its lease stops and rejects start()', async (t) => {
    const b = standby!;
    const lease = await eventually('lease held by b', async () => {
      const l = await admin.get(CoreResources.leases, ns, 'mgr');
      return l?.spec.holderIdentity === 'b' ? l : undefined;
    });
    lease.spec.holderIdentity = 'usurper';
    lease.spec.leaseDurationSeconds = 3600;
    await admin.update(CoreResources.leases, lease);
    const err = await b.done.catch((e) => e);
    t.type(err, LeaderElectionLostError);
    t.notOk(b.mgr.ready);
    await admin.create(ConfigMaps, configMap(ns, 'two'));
    await delay(300);
    t.notOk(b.reconciled.includes(`${ns}/two`), 'its controllers are stopped');
    t.equal((await admin.get(CoreResources.leases, ns, 'mgr')).spec.holderIdentity, 'usurper', 'a lost lease is not "released"');
  });

  t.test('leadership loss rejects with LeaderElectionLostError', async (t) => {
    const ns2 = await createNamespace(admin, 'rt-mgr-loss');
    const client = new KubeClient(cp.kubeConfig);
    t.teardown(() => client.close());
    const mgr = new Manager({
      client, logger: nopLogger,
      leaderElection: { namespace: ns2, name: 'x', identity: 'me', leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 },
      healthProbeBindAddress: '127.0.0.1:0', metricsBindAddress: '0',
    });
    let runnableStopped = false;
    mgr.add({ start: (signal) => new Promise<void>((res) => signal.addEventListener('abort', () => { runnableStopped = true; res(); })) });
    const ctl = new AbortController();
    t.teardown(() => ctl.abort());
    const done = mgr.start(ctl.signal);
    await eventually('leading', async () => (await admin.get(CoreResources.leases, ns2, 'x'))?.spec.holderIdentity === 'me');
    const lease = await admin.get(CoreResources.leases, ns2, 'x');
    lease.spec.holderIdentity = 'other';
    lease.spec.leaseDurationSeconds = 3600;
    await admin.update(CoreResources.leases, lease);
    t.type(await done.catch((e) => e), LeaderElectionLostError);
    t.ok(runnableStopped, 'runnables were stopped');
    t.notOk(mgr.ready);
  });

  t.test('without leader election everything starts at once; a failing runnable stops the manager', async (t) => {
    const client = new KubeClient(cp.kubeConfig);
    t.teardown(() => client.close());
    const mgr = new Manager({ client, logger: nopLogger, healthProbeBindAddress: '127.0.0.1:0', metricsBindAddress: '0' });
    let otherStopped = false;
    mgr.add({ start: (signal) => new Promise<void>((res) => signal.addEventListener('abort', () => { otherStopped = true; res(); })) });
    mgr.add({ start: async () => { await delay(200); throw new Error('runnable broke'); } });
    await t.rejects(mgr.start(new AbortController().signal), /runnable broke/);
    t.ok(otherStopped);
  });
});
