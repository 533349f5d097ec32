/**
 * Provider errors and timeouts, injected into the in-memory provider the
 * operator uses: retryable Create errors show in the Ready condition and a
 * Warning Event and then converge; calls that hang are cut at the
 * reconciler's deadline and retried; an InvalidSpec Create is reported and
 * retried with back-off, not in a storm.
 */
import t from 'tap';
import { ProviderError } from '../../../src/providers/provider';
import { Kinds } from '../../../src/reconciler/kinds';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';
import { deleteAllAndWait, delay, eventsFor, eventually, isConverged, memoryRegistry, waitAllConverged, type MemoryRegistry } from '../support/faults-helpers';

const CALL_TIMEOUT_MS = 500;
let env: OperatorEnv;
let mem: MemoryRegistry;

/** Polls one VM every 20 ms in the background; returns the Ready reasons seen, in order, without repeats. */
function watchReasons(name: string): { reasons: string[]; stop(): void } {
  const reasons: string[] = [];
  let on = true;
  void (async () => {
    while (on) {
      const vm = await env.admin.get(Kinds.VirtualMachine, env.ns, name).catch(() => undefined);
      const r = condition(vm, 'Ready');
      const tag = r ? `${r.status}/${r.reason}` : '';
      if (tag && reasons[reasons.length - 1] !== tag) reasons.push(tag);
      await delay(20);
    }
  })();
  return { reasons, stop: () => (on = false) };
}

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  // Each call takes 50 ms so that a failing state lasts long enough to be seen.
  mem = memoryRegistry({ asyncTasks: { completeAfterMs: 200 }, latencyMs: 50 });
  await env.start({ registry: mem.registry, vmTiming: { pollMs: 200, resyncMs: 5_000, dependencyRetryMs: 2_000, errorRetryMs: 500, callTimeoutMs: CALL_TIMEOUT_MS } });
});

t.afterEach(async () => {
  mem.faults.clear();
  await deleteAllAndWait(env);
});

t.test('retryable Create errors: ProviderError condition and Warning event, then Running', async (t) => {
  mem.faults.failNext('Create', new ProviderError('Retryable', 'hypervisor busy', 'Create'), 5);
  const seen = watchReasons('retry');
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'retry'));
  const [vm] = await waitAllConverged(env, 1, 30_000);
  seen.stop();
  t.ok(isConverged(vm), 'converged once the fault is used up');
  t.ok(seen.reasons.includes('False/ProviderError'), `Ready=False ProviderError was reported (seen: ${seen.reasons.join(' → ')})`);
  const creates = mem.instances.flatMap((p) => p.events).filter((e) => e.op === 'Create' && e.target === 'retry');
  t.equal(creates.filter((e) => e.outcome === 'error').length, 5, 'five failed Create calls');
  t.equal(creates.filter((e) => e.outcome === 'ok').length, 1, 'then one that created the VM');
  const warnings = (await eventsFor(env, 'retry')).filter((e) => e.type === 'Warning' && e.reason === 'ProviderError');
  t.ok(warnings.length >= 1, 'a Warning ProviderError event');
  t.match(warnings[0]?.message, /hypervisor busy.*Retryable/, 'it says what failed');
  t.equal((await mem.latest().listVMs()).filter((v) => v.name === 'retry').length, 1, 'one VM on the provider');
});

t.test('Describe calls that hang are cut at the call deadline, then converge', async (t) => {
  mem.faults.failNext('Describe', 'timeout', 3);
  const seen = watchReasons('slow');
  const t0 = Date.now();
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'slow'));
  await waitAllConverged(env, 1, 30_000);
  const ms = Date.now() - t0;
  seen.stop();
  const timeouts = mem.instances.flatMap((p) => p.events).filter((e) => e.op === 'Describe' && e.outcome === 'error');
  t.equal(timeouts.length, 3, 'three Describe calls timed out');
  t.ok(ms >= 3 * CALL_TIMEOUT_MS, `convergence waited for the three deadlines (${ms} ms)`);
  // The fault hangs 5 s without a deadline: 3 of those would take 15 s.
  t.ok(ms < 8_000, `each hanging call was cut at ${CALL_TIMEOUT_MS} ms (${ms} ms in all)`);
  t.ok(seen.reasons.includes('False/ProviderError'), `Ready=False ProviderError while it timed out (seen: ${seen.reasons.join(' → ')})`);
  const warnings = (await eventsFor(env, 'slow')).filter((e) => e.type === 'Warning' && e.reason === 'ProviderError');
  t.match(warnings[0]?.message, /deadline exceeded/, 'the Warning event names the deadline');
});

t.test('InvalidSpec on Create: reported, retried with back-off, no storm', async (t) => {
  mem.faults.failAlways('Create', new ProviderError('InvalidSpec', 'disk bus "floppy" is not supported', 'Create'));
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'bad'));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'bad', (o: any) => condition(o, 'Ready')?.reason === 'ProviderError' && condition(o, 'Provisioning')?.status === 'False', 'Ready=False ProviderError, Provisioning=False');
  t.match(condition(vm, 'Ready')?.message, /floppy.*InvalidSpec/, 'Ready names the InvalidSpec error');
  t.match(condition(vm, 'Provisioning')?.message, /InvalidSpec/, 'Provisioning=False says InvalidSpec');
  t.notOk(vm.status?.id, 'no id');

  const c0 = mem.calls('Create');
  await delay(3_000);
  const c1 = mem.calls('Create');
  await delay(3_000);
  const c2 = mem.calls('Create');
  t.comment(`Create calls: ${c0} before, +${c1 - c0} in the next 3 s, +${c2 - c1} in the 3 s after`);
  t.ok(c1 - c0 <= 12, `at most 12 Create calls in 3 s (exponential back-off), got ${c1 - c0}`);
  t.ok(c2 - c1 <= 3, `back-off keeps growing: at most 3 in the following 3 s, got ${c2 - c1}`);
  t.equal((await mem.latest().listVMs()).length, 0, 'nothing created');
  const warnings = (await eventsFor(env, 'bad')).filter((e) => e.type === 'Warning');
  t.comment(`Warning events for "bad": ${JSON.stringify(warnings.map((w) => w.reason))}`);
  t.ok(warnings.some((w) => w.reason === 'ProviderError' && /InvalidSpec/.test(w.message)), 'a Warning event says InvalidSpec');

  // Fixing the cause (here: the fault goes away) lets it converge on a later retry.
  mem.faults.clear();
  await eventually('bad converges after the fix', async () => isConverged(await env.admin.get(Kinds.VirtualMachine, env.ns, 'bad')), 30_000, 200);
  t.pass('converged after the fault was cleared');
});
