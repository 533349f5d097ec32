/**
 * Two replicas with leader election, sharing one provider (one store, each
 * replica with its own registry so calls are counted per replica): only
 * the leader touches the provider and the API; when it stops in the middle
 * of creating VMs, the other takes the Lease over and finishes them, and no
 * VM is created twice across the handover.
 */
import t from 'tap';
import { MemoryStore } from '../../../src/providers/memory';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { createFixtures, operatorEnv, vmObject } from '../support/env';
import { createdTwice, deleteAllAndWait, eventually, memoryRegistry, waitAllConverged } from '../support/faults-helpers';

const LEASE = 'virtrigaud-leader';

t.test('two replicas, one leader', async (t) => {
  const env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  const store = new MemoryStore();
  const memA = memoryRegistry({ store, asyncTasks: { completeAfterMs: 300 }, latencyMs: 50 });
  const memB = memoryRegistry({ store, asyncTasks: { completeAfterMs: 300 }, latencyMs: 50 });
  const le = (identity: string) => ({ namespace: env.ns, name: LEASE, identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 });
  const holder = async () => (await env.admin.get(CoreResources.leases, env.ns, LEASE))?.spec?.holderIdentity;

  const a = await env.start({ registry: memA.registry, leaderElection: le('a') });
  await eventually('a holds the lease', async () => (await holder()) === 'a', 15_000);
  const b = await env.start({ registry: memB.registry, leaderElection: le('b') });
  let aFailed: unknown;
  a.done.catch((e) => (aFailed = e));

  const first = Array.from({ length: 5 }, (_, i) => `first-${i}`);
  for (const n of first) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n));
  await waitAllConverged(env, first.length, 30_000);
  t.equal(await holder(), 'a', 'a still leads');
  t.same(Object.fromEntries(memA.createsByName()), Object.fromEntries(first.map((n) => [n, 1])), 'the leader created each VM once');
  t.equal(memB.instances.length, 0, 'the standby never connected to the provider');
  t.equal(b.operator.client.stats.writes + b.operator.eventsClient.stats.writes, 0, `the standby made no API writes (${JSON.stringify(b.operator.client.stats.byVerb)})`);
  t.equal(b.operator.informers.vms.stats.lists, 0, 'the standby did not even start its informers');

  // Stop the leader while it is creating the next batch.
  const handover = Array.from({ length: 4 }, (_, i) => `handover-${i}`);
  for (const n of handover) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n));
  // Once a has created one of them, the others are in flight or queued.
  await eventually('a created a handover VM', () => [...memA.createsByName().keys()].some((n) => n.startsWith('handover')), 10_000, 5);
  const t0 = Date.now();
  await a.stop();
  t.equal(aFailed, undefined, 'the leader shut down cleanly');
  await eventually('b holds the lease', async () => (await holder()) === 'b', 15_000, 50);
  t.comment(`b took over ${Date.now() - t0} ms after a was told to stop; a had ${[...memA.createsByName().keys()].filter((n) => n.startsWith('handover')).length} of ${handover.length} handover VMs created`);

  const after = ['after-0', 'after-1'];
  for (const n of after) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n));
  const vms = await waitAllConverged(env, first.length + handover.length + after.length, 30_000);
  t.equal(vms.length, 11, 'all VMs converged under the new leader');
  for (const n of after) t.equal(memB.createsByName().get(n), 1, `${n} created by b`);
  t.equal(memA.createsByName().get('after-0'), undefined, 'a did nothing after it stopped');
  t.same(createdTwice(memA.createsByName(), memB.createsByName()), [], 'no name was created twice across the two replicas');
  const names = Object.values(store.read().vms).map((v) => v.name).sort();
  t.same(names, vms.map((v) => v.metadata.name).sort(), 'one provider VM per VirtualMachine');
  const lease = await env.admin.get(CoreResources.leases, env.ns, LEASE);
  t.ok(lease.spec.leaseTransitions >= 1, `the lease changed hands (transitions ${lease.spec.leaseTransitions})`);

  await deleteAllAndWait(env);
  t.equal(Object.keys(store.read().vms).length, 0, 'the new leader deletes too');
});
