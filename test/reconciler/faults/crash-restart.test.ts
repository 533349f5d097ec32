/**
 * SIGKILL of `virtrigaud run` while VMs are being created (and some
 * deleted, converged or still mid-create), 20 times at seeded random
 * moments, each time starting a new process on the same provider state
 * file. The in-memory test provider is, like a real hypervisor, not
 * idempotent by name: a second Create of a name fails. The create path
 * records its intent in status before calling the provider and looks the
 * VM up by uid after a crash; the finalizer of a VM deleted in that window
 * looks it up by uid too. In the end the provider holds exactly the VMs of
 * the surviving VirtualMachines (matched by uid, so none of a deleted one),
 * no Create was ever repeated, and deleting everything leaves no orphan.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MemoryProvider } from '../../../src/providers/memory';
import { Kinds } from '../../../src/reconciler/kinds';
import { prng } from '../../support/prng';
import { createFixtures, operatorEnv } from '../support/env';
import { startChildOperator, type ChildOperator } from '../support/faults-child';
import { delay, deleteAllAndWait, duplicates, eventually, isConverged, listVMs, waitAllConverged } from '../support/faults-helpers';

const SEED = Number(process.env.VIRTRIGAUD_FAULT_SEED ?? 20240611);
const ITERATIONS = 20;
const BATCH = 3;

t.test('SIGKILL during create, 20 times', async (t) => {
  const env = await operatorEnv(t);
  // Every provider call takes 150 ms and tasks 300 ms: creates are in flight when the kill lands.
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab?asyncTasks=1&completeAfterMs=300&latencyMs=150' });
  // The default client-side limit (10 qps) would make the restarts' re-checks of 60 VMs slow, not more interesting.
  await env.admin.patch(Kinds.Provider, env.ns, 'lab', { spec: { rateLimit: { qps: 500, burst: 500 } } }, { type: 'merge' });
  const stateDir = mkdtempSync(path.join(tmpdir(), 'virtrigaud-crash-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const stateFile = path.join(stateDir, `${env.ns}-lab.json`);
  const providerState = () => new MemoryProvider({ stateFile });
  const kubeconfig = (await env.cp.kubeconfigForServiceAccount(env.ns, env.serviceAccount, { expirationSeconds: 3600 })).path;

  let child: ChildOperator | undefined;
  t.teardown(() => child?.kill());
  const rand = prng(SEED);
  t.comment(`seed ${SEED}`);
  const created: string[] = [];
  const allLines: string[] = [];
  let deleted = 0;
  let deletedMidCreate = 0;
  let recovered = 0;

  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = Date.now();
    child = startChildOperator({ kubeconfig, namespace: env.ns, stateDir });
    await child.ready;
    const startMs = Date.now() - t0;
    for (let j = 0; j < BATCH; j++) {
      const name = `vm-${i}-${j}`;
      await env.admin.create(Kinds.VirtualMachine, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VirtualMachine', metadata: { name, namespace: env.ns }, spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On' } });
      created.push(name);
    }
    // Every third round deletes one VM of the batch at once: its finalizer runs while the create may be in flight.
    if (i % 3 === 1) {
      await env.admin.delete(Kinds.VirtualMachine, env.ns, `vm-${i}-0`);
      deleted++;
      deletedMidCreate++;
    }
    // Every fourth round also deletes two converged VMs, so finalizers get killed mid-way too.
    if (i % 4 === 3) {
      const victims = (await listVMs(env)).filter((v) => isConverged(v) && !v.metadata.deletionTimestamp).slice(0, 2);
      for (const v of victims) await env.admin.delete(Kinds.VirtualMachine, env.ns, v.metadata.name);
      deleted += victims.length;
    }
    // Even rounds: a random moment. Odd rounds: right after a Create returned (its log line), before or
    // while the id is written: the window the intent record exists for.
    let when: string;
    if (i % 2 === 0) {
      const ms = Math.floor(rand() * 1200);
      await delay(ms);
      when = `${ms} ms after the batch`;
    } else {
      const c = child;
      const seen = await eventually('a Created log line', () => c.lines.some((l) => l.includes('"reason":"Created"')), 10_000, 2).then(() => true, () => false);
      when = seen ? 'right after a Create returned' : 'after 10 s (no Create seen)';
    }
    await child.kill();
    allLines.push(...child.lines);
    recovered += child.lines.filter((l) => l.includes('"reason":"Recovered"')).length;
    const vms = await listVMs(env);
    const withId = vms.filter((v) => v.status?.id).length;
    const provisioning = vms.filter((v) => v.status?.phase === 'Provisioning').length;
    t.comment(`#${i}: start ${startMs} ms, killed ${when}; ${vms.length} VMs, ${withId} with id, ${provisioning} Provisioning; provider has ${(await providerState().listVMs()).length}`);
  }

  // Let a last process converge everything.
  child = startChildOperator({ kubeconfig, namespace: env.ns, stateDir });
  await child.ready;
  const vms = await waitAllConverged(env, created.length - deleted, 90_000);
  t.equal(vms.length, created.length - deleted, `${vms.length} VMs converged`);
  t.ok(vms.every((v) => /\S/.test(v.status.id)), 'every VM has status.id');

  const provider = providerState();
  const onProvider = await provider.listVMs();
  const names = onProvider.map((v) => v.name);
  t.same(duplicates(names), [], 'no two provider VMs share a name');
  const uids = onProvider.map((v) => v.uid ?? '(none)');
  t.same([...uids].sort(), vms.map((v) => v.metadata.uid).sort(), 'one provider VM per surviving VirtualMachine (by uid); none of a deleted one');
  const byUid = new Map(onProvider.map((v) => [v.uid, v.id]));
  t.same(vms.filter((v) => byUid.get(v.metadata.uid) !== v.status.id).map((v) => v.metadata.name), [], 'status.id names the provider VM carrying that uid');
  // Every successful Create left a task in the state file; a repeated one would have failed with "already exists".
  const createCalls = Object.keys(provider.store.read().tasks).filter((id) => id.startsWith('task-create-')).length;
  t.ok(createCalls >= vms.length && createCalls <= created.length, `Create succeeded at most once per VirtualMachine (${createCalls} for ${created.length} VMs, ${deletedMidCreate} deleted mid-create)`);
  allLines.push(...child.lines);
  t.same(allLines.filter((l) => l.includes('already exists')).slice(0, 3), [], 'no Create was repeated for a VM that existed');
  recovered += child.lines.filter((l) => l.includes('"reason":"Recovered"')).length;
  // The kills right after a Create must sometimes land before the id was written.
  t.ok(recovered >= 1, `a restarted process found a VM created by a killed one (${recovered} Recovered; ${created.length} created, ${deleted} deleted during the kills)`);

  await deleteAllAndWait(env, 60_000);
  t.equal((await providerState().listVMs()).length, 0, 'no VM left on the provider after deleting all');
  await child.kill();
});
