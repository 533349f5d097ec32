/**
 * An idle operator writes nothing: once every VM converged, re-checks on
 * the resync period look at the provider and find nothing to change, so
 * the API sees no write, not even an unchanged status or a repeated Event.
 * Status is the reconciler's: someone else's status-only write is put
 * back at the next resync, with exactly one write.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { createFixtures, operatorEnv, vmObject } from '../support/env';
import { delay, errorLines, memoryRegistry, waitAllConverged } from '../support/faults-helpers';

const RESYNC_MS = 1_000;

t.test('idle means zero writes', async (t) => {
  const env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  const mem = memoryRegistry({ asyncTasks: { completeAfterMs: 200 } });
  const running = await env.start({ registry: mem.registry, vmTiming: { pollMs: 100, resyncMs: RESYNC_MS, dependencyRetryMs: 2_000, errorRetryMs: 500 } });
  // Reconcile requests and Events (sent with a client of their own) together.
  const op = running.operator;
  const stats = {
    get writes() { return op.client.stats.writes + op.eventsClient.stats.writes; },
    get requests() { return op.client.stats.requests + op.eventsClient.stats.requests; },
    get byVerb() { return op.client.stats.byVerb; },
  };
  for (let i = 0; i < 5; i++) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, `idle-${i}`));
  await waitAllConverged(env, 5);
  // Let the last Events flush and the Provider status settle.
  await delay(3_000);

  const w0 = stats.writes;
  const r0 = stats.requests;
  const d0 = mem.calls('Describe');
  await delay(3 * RESYNC_MS);
  const describes = mem.calls('Describe') - d0;
  t.comment(`idle for ${3 * RESYNC_MS} ms: ${describes} Describe calls, ${stats.requests - r0} API requests, ${stats.writes - w0} writes (${JSON.stringify(stats.byVerb)})`);
  t.ok(describes >= 2 * 5, 'the VMs were re-checked on every resync (the idle period is not just silence)');
  t.equal(stats.writes, w0, 'no API write while idle');

  // Someone else writes status only (status.message is the reconciler's: the Ready message).
  const vm = await env.admin.get(Kinds.VirtualMachine, env.ns, 'idle-0');
  const own = vm.status.message;
  vm.status.message = 'checked by the inventory job';
  await env.admin.updateStatus(Kinds.VirtualMachine, vm);
  const w1 = stats.writes;
  // (That a status-only update wakes no reconcile is shown in test/reconciler/runtime/controller.test.ts.)
  await delay(2.5 * RESYNC_MS);
  t.equal(stats.writes, w1 + 1, 'the next resync restores the status with exactly one write');
  const after = await env.admin.get(Kinds.VirtualMachine, env.ns, 'idle-0');
  t.equal(after.status.message, own, 'status.message is the Ready message again');
  t.same(errorLines(running.logs), [], 'no error logged');
});
