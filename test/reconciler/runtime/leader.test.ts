/** LeaderElector against the shared API server, with a ServiceAccount allowed only get/create/update on leases. */
import t from 'tap';
import { useControlPlane } from '../../../src/testenv';
import { CoreResources, KubeClient, LeaderElector, type LeaderElectorOptions } from '../../../src/reconciler/runtime';
import { createNamespace, delay, eventually } from './helpers';

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

  function elector(name: string, identity: string, extra: Partial<LeaderElectorOptions> = {}) {
    const ctl = new AbortController();
    const state = { leading: false, started: 0, stopped: 0, leaderSignal: undefined as AbortSignal | undefined };
    const el = new LeaderElector(client, {
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
});
