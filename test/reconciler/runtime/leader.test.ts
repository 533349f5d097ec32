/** LeaderElector against the shared API server, with a ServiceAccount allowed only get/create/update on leases. */
import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { useControlPlane } from '../../../src/testenv';
import {
  CoreResources, KubeClient, LeaderElector, leaderElectionTimings, Manager, nopLogger, WriteRefusedError, type LeaderElectorOptions,
} from '../../../src/reconciler/runtime';
import { configMap, ConfigMaps, createNamespace, delay, eventually } from './helpers';

const FAST = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };

t.test('LeaderElector', async (t) => {
  const cp = await useControlPlane(t);
  const admin = new KubeClient(cp.kubeConfig);
  t.teardown(() => admin.close());
  const ns = await createNamespace(admin, 'rt-le');
  const rbac = (plural: string, kind: string) => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, namespaced: true });
  await admin.create(rbac('roles', 'Role'), {
    metadata: { name: 'leases', namespace: ns },
    rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
  });
  await admin.create(rbac('rolebindings', 'RoleBinding'), {
    metadata: { name: 'leases', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' },
    subjects: [{ kind: 'ServiceAccount', name: 'elector', namespace: ns }],
  });
  const sa = await cp.kubeconfigForServiceAccount(ns, 'elector');
  const client = new KubeClient(sa.kubeConfig);
  t.teardown(() => client.close());
  await eventually('RBAC in effect', async () => (await client.get(CoreResources.leases, ns, 'probe')) === undefined);

  function elector(name: string, identity: string, extra: Partial<LeaderElectorOptions> = {}, via = client) {
    const ctl = new AbortController();
    const state = { leading: false, started: 0, stopped: 0, leaderSignal: undefined as AbortSignal | undefined };
    const el = new LeaderElector(via, {
      namespace: ns, name, identity, ...FAST,
      onStartedLeading: (s) => {
        state.leading = true;
        state.started++;
        state.leaderSignal = s;
      },
      onStoppedLeading: () => {
        state.leading = false;
        state.stopped++;
      },
      ...extra,
    });
    const done = el.run(ctl.signal);
    t.teardown(async () => {
      ctl.abort();
      await done;
    });
    return { el, ctl, state, done };
  }

  t.test('exactly one of two leads; the other takes over fast after a graceful stop', async (t) => {
    const a = elector('two', 'a');
    const b = elector('two', 'b');
    await eventually('a leader', () => a.el.isLeader() || b.el.isLeader());
    await delay(1000);
    t.equal(Number(a.el.isLeader()) + Number(b.el.isLeader()), 1, 'exactly one leader');
    const [leader, other] = a.el.isLeader() ? [a, b] : [b, a];
    const lease = await admin.get(CoreResources.leases, ns, 'two');
    t.equal(lease.spec.holderIdentity, leader === a ? 'a' : 'b');
    t.equal(lease.spec.leaseDurationSeconds, 2);
    t.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const t0 = Date.now();
    leader.ctl.abort();
    await leader.done;
    t.ok(leader.state.leaderSignal?.aborted, 'the leader\'s signal was aborted');
    t.equal(leader.state.stopped, 1, 'onStoppedLeading called');
    t.notOk(leader.el.isLeader());
    const released = await admin.get(CoreResources.leases, ns, 'two');
    t.equal(released.spec.holderIdentity, '', 'lease released');
    await eventually('takeover', () => other.el.isLeader(), 5000, 20);
    t.ok(Date.now() - t0 < 2000, `took over within the lease duration (${Date.now() - t0} ms)`);
    const after = await admin.get(CoreResources.leases, ns, 'two');
    t.equal(after.spec.leaseTransitions, 1);
  });

  t.test('an unreleased lease is taken only after it expires', async (t) => {
    const now = new Date().toISOString().replace('Z', '000Z');
    await admin.create(CoreResources.leases, {
      metadata: { name: 'ghost', namespace: ns },
      spec: { holderIdentity: 'crashed-pod', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 3 },
    });
    const t0 = Date.now();
    const c = elector('ghost', 'c');
    await eventually('c leads', () => c.el.isLeader(), 8000, 20);
    const waited = Date.now() - t0;
    t.ok(waited >= 1900, `waited for expiry (${waited} ms)`);
    const lease = await admin.get(CoreResources.leases, ns, 'ghost');
    t.equal(lease.spec.holderIdentity, 'c');
    t.equal(lease.spec.leaseTransitions, 4);
  });

  t.test('a stolen lease means leadership lost: run resolves, signal aborted', async (t) => {
    const d = elector('stolen', 'd');
    await eventually('d leads', () => d.el.isLeader());
    const lease = await admin.get(CoreResources.leases, ns, 'stolen');
    lease.spec.holderIdentity = 'thief';
    lease.spec.leaseDurationSeconds = 60;
    await admin.update(CoreResources.leases, lease);
    await d.done;
    t.notOk(d.el.isLeader());
    t.ok(d.state.leaderSignal?.aborted);
    t.equal(d.state.stopped, 1);
    t.equal((await admin.get(CoreResources.leases, ns, 'stolen')).spec.holderIdentity, 'thief', 'not released: it was not ours');
  });

  t.test('timings are validated: the renew deadline must be shorter than the lease', async (t) => {
    const base = { namespace: ns, name: 'bad', identity: 'x', onStartedLeading: () => {} };
    t.throws(() => new LeaderElector(client, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 3000 }),
      /^invalid leader election options: renewDeadlineMs \(3000\) must be less than leaseDurationMs \(3000\): a leader must stop acting before its lease can pass to another replica$/);
    t.throws(() => new LeaderElector(client, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 4000 }), /renewDeadlineMs \(4000\) must be less than leaseDurationMs \(3000\)/);
    t.throws(() => new LeaderElector(client, { ...base, renewDeadlineMs: 20_000 }), /renewDeadlineMs \(20000\) must be less than leaseDurationMs \(15000\)/, 'checked against the default lease duration');
    t.throws(() => new LeaderElector(client, { ...base, leaseDurationMs: 3000, renewDeadlineMs: 1100, retryPeriodMs: 1000 }),
      /renewDeadlineMs \(1100\) must be greater than retryPeriodMs × 1\.2 \(1200\)/);
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      t.throws(() => new LeaderElector(client, { ...base, retryPeriodMs: bad }), /retryPeriodMs must be a positive number of milliseconds/, `retryPeriodMs ${bad}`);
    }
    t.same(leaderElectionTimings({}), { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, 'defaults');
    t.throws(() => new Manager({ client, logger: nopLogger, leaderElection: { namespace: ns, name: 'bad', identity: 'x', leaseDurationMs: 2000, renewDeadlineMs: 2500 } }),
      /renewDeadlineMs \(2500\) must be less than leaseDurationMs \(2000\)/, 'the Manager refuses them when constructed');
    t.equal((await admin.get(CoreResources.leases, ns, 'bad')), undefined, 'nothing was written');
  });

  t.test('a pause longer than the renew deadline: writes fenced at once, then step-down without a renewal', async (t) => {
    const own = new KubeClient(sa.kubeConfig);
    t.teardown(() => own.close());
    const e = elector('paused', 'e', {}, own);
    const fenced = new KubeClient(cp.kubeConfig, { writeGuard: e.el.writeFence });
    t.teardown(() => fenced.close());
    t.match(e.el.writeFence(), /^not the leader \(lease rt-le-\w+\/paused\)$/, 'a candidate is fenced');
    await eventually('e leads', () => e.el.isLeader());
    await delay(500); // a few renewals
    t.equal(e.el.writeFence(), undefined, 'a fresh leader may write');
    await fenced.create(ConfigMaps, configMap(ns, 'before-pause'));

    const requestsBefore = own.stats.requests;
    // The whole thread stops, as under SIGSTOP or a long GC pause: no timer, no I/O callback runs meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FAST.renewDeadlineMs + 300);
    t.ok(e.el.isLeader(), 'right after the pause, before any callback ran, the step-down is still to come');
    t.match(e.el.writeFence(), /^leader lease rt-le-\w+\/paused not renewed for \d+ ms, past the renew deadline of 1500 ms$/, 'but the fence already refuses');
    const refused = await fenced.create(ConfigMaps, configMap(ns, 'after-pause')).catch((err) => err);
    t.type(refused, WriteRefusedError);
    t.match(refused.message, /^refusing to create \/api\/v1\/namespaces\/rt-le-\w+\/configmaps: leader lease .* not renewed for \d+ ms/);
    t.equal(fenced.refusedWrites, 1);
    await e.done;
    t.notOk(e.el.isLeader(), 'stepped down');
    t.ok(e.state.leaderSignal?.aborted, 'the leader\'s signal was aborted');
    t.equal(e.state.stopped, 1);
    t.equal(own.stats.requests, requestsBefore, 'no lease request after the pause: it did not try to renew a lease that may have passed on');
    t.ok(await fenced.get(ConfigMaps, ns, 'before-pause'), 'reads pass the fence');
    t.equal(await admin.get(ConfigMaps, ns, 'after-pause'), undefined, 'the refused write never reached the API server');
    t.equal((await admin.get(CoreResources.leases, ns, 'paused')).spec.holderIdentity, 'e', 'not released: it may have passed on already');
  });

  t.test('a pause between reading the lease and writing it: the stale renewal is not sent', async (t) => {
    const own = new KubeClient(sa.kubeConfig);
    t.teardown(() => own.close());
    // The lease GET's reply arrives, then the thread stops (SIGSTOP) before the update goes out.
    let pauseAfterGet = false;
    const via = new Proxy(own, {
      get(target, prop, receiver) {
        if (prop !== 'get') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<KubeClient['get']>) => {
          const got = await target.get(...args);
          if (pauseAfterGet) {
            pauseAfterGet = false;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FAST.renewDeadlineMs + 300);
          }
          return got;
        };
      },
    });
    const p = elector('read-then-pause', 'p', {}, via);
    await eventually('p leads', () => p.el.isLeader());
    await delay(300);
    const writesBefore = own.stats.writes;
    pauseAfterGet = true;
    await p.done;
    t.notOk(p.el.isLeader(), 'stepped down');
    t.equal(own.stats.writes, writesBefore, 'the renewal read before the pause was never written');
    t.equal((await admin.get(CoreResources.leases, ns, 'read-then-pause')).spec.holderIdentity, 'p', 'the lease is untouched');
  });

  t.test('the fence is asked again when the connection is up, right before the request is written', async (t) => {
    // The first answer comes before a connection is made: a pause while connecting must not let a stale write through.
    const answers: (string | undefined)[] = [undefined, 'renew deadline passed meanwhile'];
    const asked: number[] = [];
    const fresh = new KubeClient(cp.kubeConfig, { writeGuard: () => (asked.push(asked.length), answers[asked.length - 1]) });
    t.teardown(() => fresh.close());
    const err = await fresh.create(ConfigMaps, configMap(ns, 'late-refusal')).catch((e) => e);
    t.type(err, WriteRefusedError);
    t.match(err.message, /^refusing to create \/api\/v1\/namespaces\/rt-le-\w+\/configmaps: renew deadline passed meanwhile$/);
    t.equal(asked.length, 2, 'asked twice');
    t.same([fresh.stats.writes, fresh.refusedWrites], [0, 1], 'counted as refused, not as sent');
    t.equal(await admin.get(ConfigMaps, ns, 'late-refusal'), undefined, 'nothing reached the API server');
    t.ok(await fresh.get(ConfigMaps, ns, 'before-pause'), 'the client still reads');
  });

  t.test('a hung renewal is cut off at the renew deadline', async (t) => {
    // A TCP proxy to the API server that can stop forwarding: requests then hang, connections stay open.
    const target = new URL(cp.kubeConfig.getCurrentCluster()!.server);
    let frozen = false;
    const sockets = new Set<Socket>();
    const proxy = createServer((down) => {
      const up = connect(Number(target.port), target.hostname);
      for (const s of [down, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          (s === down ? up : down).destroy();
        });
      }
      down.on('data', (d) => void (frozen || up.write(d)));
      up.on('data', (d) => void (frozen || down.write(d)));
    });
    await new Promise<void>((res) => proxy.listen(0, '127.0.0.1', res));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      proxy.close();
    });
    const port = (proxy.address() as { port: number }).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: sa.kubeConfig.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
      users: sa.kubeConfig.users, contexts: sa.kubeConfig.contexts, currentContext: sa.kubeConfig.currentContext,
    });
    const viaProxy = new KubeClient(kc); // the default 30 s request timeout: only the elector's own deadline can cut it short
    t.teardown(() => viaProxy.close());
    const h = elector('hung', 'h', {}, viaProxy);
    await eventually('h leads', () => h.el.isLeader());
    await delay(400);
    let abortedAt = 0;
    h.state.leaderSignal!.addEventListener('abort', () => (abortedAt = performance.now()));
    frozen = true;
    const frozenAt = performance.now();
    const sinceRenewal = h.el.sinceLastRenewalMs();
    await h.done;
    const took = abortedAt - frozenAt;
    t.ok(abortedAt > 0, 'the leader\'s signal was aborted');
    t.ok(took + sinceRenewal >= FAST.renewDeadlineMs, `not before the deadline (${Math.round(took + sinceRenewal)} ms after the last renewal)`);
    t.ok(took + sinceRenewal < FAST.renewDeadlineMs + 400, `soon after the deadline: stepped down ${Math.round(took)} ms after the freeze, ${Math.round(took + sinceRenewal)} ms after the last renewal`);
    t.notOk(h.el.isLeader());
  });
});
