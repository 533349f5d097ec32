/**
 * A second writer keeps changing the VMs (labels and annotations by merge
 * patch, and now and then the spec) in a tight loop while the operator
 * reconciles them, so the operator's resourceVersion-guarded writes
 * (status, finalizer) hit 409 Conflicts. Everything must still converge,
 * with the final generation observed, the other writer's metadata intact,
 * and no error logged.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { condition, createFixtures, operatorEnv, vmObject } from '../support/env';
import { counterValue, errorLines, memoryRegistry, waitAllConverged } from '../support/faults-helpers';

const VMS = 6;
const CHURN_MS = 6_000;

t.test('update conflicts with a second writer', async (t) => {
  const env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  // Slow provider calls widen the window between the operator's read and its write.
  const mem = memoryRegistry({ asyncTasks: { completeAfterMs: 300 }, latencyMs: 50 });
  const running = await env.start({ registry: mem.registry });
  const names = Array.from({ length: VMS }, (_, i) => `churn-${i}`);
  for (const n of names) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n));

  // The second writer: round robin over the VMs until the time is up.
  const last = new Map<string, number>();
  let writes = 0;
  let specWrites = 0;
  const until = Date.now() + CHURN_MS;
  while (Date.now() < until) {
    const name = names[writes % VMS]!;
    const patch: any = { metadata: { labels: { churn: String(writes) }, annotations: { 'example.com/note': `w${writes}` } } };
    // Every fifth write changes the spec too (a new generation to observe).
    if (writes % 5 === 0) {
      patch.spec = { tags: [`t${writes}`] };
      specWrites++;
    }
    await env.admin.patch(Kinds.VirtualMachine, env.ns, name, patch, { type: 'merge' });
    last.set(name, writes);
    writes++;
  }
  const conflicts = counterValue(running.operator.metrics.render(), 'rest_client_requests_total', 'code="409"');
  t.comment(`second writer: ${writes} patches (${specWrites} to the spec) in ${CHURN_MS} ms; operator got ${conflicts} conflicts`);
  t.ok(conflicts >= 1, 'the operator ran into conflicts (the test exercises them)');

  const vms = await waitAllConverged(env, VMS, 30_000);
  for (const vm of vms) {
    const n = vm.metadata.name;
    t.equal(vm.status.observedGeneration, vm.metadata.generation, `${n}: observedGeneration ${vm.status.observedGeneration} == generation`);
    t.equal(condition(vm, 'Ready')?.status, 'True', `${n}: Ready`);
    t.equal((condition(vm, 'Ready') as any)?.observedGeneration, vm.metadata.generation, `${n}: Ready observed the current generation`);
    t.equal(vm.metadata.labels?.churn, String(last.get(n)), `${n}: the other writer's last label is intact`);
    t.equal(vm.metadata.annotations?.['example.com/note'], `w${last.get(n)}`, `${n}: the other writer's last annotation is intact`);
    t.ok(vm.metadata.finalizers?.includes('virtualmachine.infra.virtrigaud.io/finalizer'), `${n}: finalizer set once`);
    t.equal(vm.metadata.finalizers.length, 1, `${n}: no duplicate finalizer`);
  }
  const onProvider = (await mem.latest().listVMs()).map((v) => v.name).sort();
  t.same(onProvider, [...names].sort(), 'one provider VM per VirtualMachine');
  t.same(errorLines(running.logs), [], 'no error logged (conflicts are retried, not reported)');
});
