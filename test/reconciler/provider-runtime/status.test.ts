/** runtimeStatusFrom: the status.runtime phase from the live Deployment (PR-6). */
import t from 'tap';
import { renderProviderRuntime, runtimeStatusFrom } from '../../../src/reconciler/provider-runtime';
import { provider } from './fixtures';

const rendered = renderProviderRuntime(provider({ runtime: { replicas: 2 } }));
const deployment = (status: Record<string, number> | undefined, replicas = 2) => ({ spec: { replicas }, ...(status ? { status } : {}) });

t.test('Pending until a replica is ready', async (t) => {
  t.same(runtimeStatusFrom(undefined, rendered), {
    phase: 'Pending',
    message: `Deployment ${rendered.serviceName} not found yet (0/2 replicas ready)`,
    readyReplicas: 0,
    availableReplicas: 0,
  });
  t.same(runtimeStatusFrom(deployment(undefined), rendered), { phase: 'Pending', message: '0/2 replicas ready', readyReplicas: 0, availableReplicas: 0 });
  t.same(runtimeStatusFrom(deployment({ replicas: 2, readyReplicas: 0 }, 1), rendered).message, '0/1 replicas ready', 'the live replica count wins');
});

t.test('Running with at least one ready replica', async (t) => {
  const s = runtimeStatusFrom(deployment({ readyReplicas: 1, availableReplicas: 1 }), rendered);
  t.equal(s.phase, 'Running');
  t.equal(s.readyReplicas, 1);
  t.equal(s.availableReplicas, 1);
  t.match(s.message, /^1\/2 replicas ready; endpoint virtrigaud-provider-tenant-a-vcenter\.tenant-a\.svc\.cluster\.local:9443$/);
});

t.test('Failed when refused, whatever runs', async (t) => {
  const refused = renderProviderRuntime(provider({ runtime: { service: {} } }));
  const s = runtimeStatusFrom(deployment({ readyReplicas: 2, availableReplicas: 2 }), refused);
  t.equal(s.phase, 'Failed');
  t.match(s.message, /^TLSNotConfigured: spec\.runtime\.service\.tls is not set/);
  t.equal(s.readyReplicas, 2, 'a leftover Deployment is still reported');
  t.equal(runtimeStatusFrom(undefined, refused).phase, 'Failed');
});
