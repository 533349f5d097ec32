/**
 * Provider health checks honour spec.healthCheck: failures flip `healthy`
 * only after failureThreshold consecutive ones, success brings it back, and
 * the Ready condition follows.
 */
import t from 'tap';
import { MemoryProvider } from '../../../src/providers/memory';
import { ProviderError } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { condition, createFixtures, operatorEnv } from '../support/env';

t.test('failureThreshold and recovery', async (t) => {
  const env = await operatorEnv(t);
  await createFixtures(env);
  await env.admin.patch(Kinds.Provider, env.ns, 'lab', { spec: { healthCheck: { interval: '1s', failureThreshold: 3, timeout: '2s' } } }, { type: 'merge' });
  const memory = new MemoryProvider({ credentials: { username: 'admin' } });
  await env.start({ registry: new ProviderRegistry().register('memory', () => memory) });
  await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true && condition(o, 'Ready')?.status === 'True', 'healthy');

  memory.faults.failAlways('Validate', new ProviderError('Retryable', 'vCenter unreachable'));
  const failing = Date.now();
  const down = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === false, 'unhealthy', 20_000);
  const took = Date.now() - failing;
  t.ok(took >= 1_500, `healthy only flipped after consecutive failures (${took} ms with a 1 s interval and threshold 3)`);
  t.equal(condition(down, 'ProviderAvailable')?.reason, 'ValidationFailed');
  t.match(condition(down, 'ProviderAvailable')?.message, /vCenter unreachable/);
  t.equal(condition(down, 'Ready')?.status, 'False');

  memory.faults.clear();
  const up = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true, 'healthy again', 20_000);
  t.equal(condition(up, 'Ready')?.status, 'True', 'Ready again');
});
