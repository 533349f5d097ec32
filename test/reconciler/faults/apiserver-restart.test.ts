/**
 * kube-apiserver restarts while VMs converge (private control plane, etcd
 * keeps its data). The operator must ride it out: its watches reconnect,
 * VMs created while it was blind and after are picked up, every VM
 * converges, and no VM is created twice on the provider.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { isAlreadyExists } from '../../../src/reconciler/runtime';
import { createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';
import { createdTwice, deleteAllAndWait, delay, eventually, memoryRegistry, waitAllConverged } from '../support/faults-helpers';

/** Creates a VM, retrying while the API server is away (a lost response may leave it created: AlreadyExists is success). */
async function createRetrying(env: OperatorEnv, name: string): Promise<void> {
  await eventually(`create ${name}`, async () => {
    try {
      await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, name));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    return true;
  }, 60_000, 200);
}

t.test('API server restart mid-run', async (t) => {
  const env = await operatorEnv(t, { private: true });
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  const mem = memoryRegistry({ asyncTasks: { completeAfterMs: 400 }, latencyMs: 100 });
  const running = await env.start({ registry: mem.registry });
  let failed: unknown;
  running.done.catch((e) => (failed = e));

  for (let i = 0; i < 8; i++) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, `before-${i}`));
  // Restart once some VMs have an id and others are still being created.
  await eventually('a VM has an id', async () => (await env.admin.list(Kinds.VirtualMachine, env.ns)).items.some((v: any) => v.status?.id), 20_000, 50);
  const converging = (await env.admin.list(Kinds.VirtualMachine, env.ns)).items.filter((v: any) => v.status?.phase !== 'Running').length;
  const watchesBefore = running.operator.informers.vms.stats.watches;

  const t0 = Date.now();
  const restart = env.cp.restartApiServer();
  // Issued while the API server is down: they land once it is back, while the operator is still reconnecting.
  const during = Array.from({ length: 4 }, (_, i) => delay(100 * i).then(() => createRetrying(env, `during-${i}`)));
  await restart;
  t.comment(`API server restarted in ${Date.now() - t0} ms; ${converging} of 8 VMs were not Running yet`);
  await Promise.all(during);
  for (let i = 0; i < 4; i++) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, `after-${i}`));

  const vms = await waitAllConverged(env, 16, 60_000);
  t.equal(vms.length, 16, 'all 16 VMs converged');
  t.ok(running.operator.informers.vms.stats.watches > watchesBefore, `the VM watch reconnected (${running.operator.informers.vms.stats.watches - watchesBefore} new watches)`);
  const onProvider = await mem.latest().listVMs();
  t.same(onProvider.map((v) => v.name).sort(), vms.map((v) => v.metadata.name).sort(), 'one provider VM per VirtualMachine');
  t.same(createdTwice(mem.createsByName()), [], 'Create never succeeded twice for one name');
  t.equal(failed, undefined, 'the operator kept running');

  await deleteAllAndWait(env);
  t.equal((await mem.latest().listVMs()).length, 0, 'no orphan after deleting all');
});
