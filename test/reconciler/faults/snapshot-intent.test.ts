/**
 * No second snapshot. The VMSnapshot controller records its intent (phase
 * Creating) before calling SnapshotCreate, and a reconcile that finds the
 * intent without a snapshot id looks on the provider first. Two ways to
 * lose the id after the provider took the snapshot: the reconciler process
 * is SIGKILLed right after SnapshotCreate returned, then a new process
 * starts; or the answer is lost on the way back (the call fails although
 * the snapshot was taken). Either way exactly one snapshot exists on the
 * provider, and it is the one status.snapshotID names.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MemoryProvider, memoryOptionsFromContext } from '../../../src/providers/memory';
import { ProviderError, type CallOptions, type SnapshotCreateRequest } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { snapshotNameHint, uidToken } from '../../../src/reconciler/snapshot/naming';
import { REPO_ROOT } from '../../../src/testenv';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';
import { eventsFor, eventually } from '../support/faults-helpers';

const CHILD = path.join(REPO_ROOT, 'test', 'reconciler', 'support', 'crash-child.ts');
const CRASH_LINE = 'crashing on purpose after SnapshotCreate';

interface Child {
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

function startChild(kubeconfig: string, ns: string, stateDir: string, crashAfterSnapshotCreate: boolean): Child {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (crashAfterSnapshotCreate) env.VIRTRIGAUD_TEST_CRASH_AFTER = 'SnapshotCreate';
  else delete env.VIRTRIGAUD_TEST_CRASH_AFTER;
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, kubeconfig, ns, stateDir], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  return {
    lines,
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

const snapshotObject = (ns: string, name: string, vm: string) => ({
  apiVersion: 'infra.virtrigaud.io/v1beta1',
  kind: 'VMSnapshot',
  metadata: { name, namespace: ns },
  spec: { vmRef: { name: vm } },
});

let env: OperatorEnv;
let stateDir: string;
let stateFile: string;
/** The provider's state as the file holds it now. */
const providerVm = (id: string) => new MemoryProvider({ stateFile }).vms()[id];

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  stateDir = mkdtempSync(path.join(tmpdir(), 'virtrigaud-snap-'));
  stateFile = path.join(stateDir, `${env.ns}-lab.json`);
});
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));

t.test('SIGKILL right after SnapshotCreate: the restarted reconciler finds the snapshot, takes no second one', async (t) => {
  const kubeconfig = (await env.cp.kubeconfigForServiceAccount(env.ns, env.serviceAccount, { expirationSeconds: 3600 })).path;
  const first = startChild(kubeconfig, env.ns, stateDir, true);
  t.teardown(() => first.kill());
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'web'));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running', 'VM Running', 60_000);
  const created = await env.admin.create<any>(Kinds.VMSnapshot, snapshotObject(env.ns, 'nightly', 'web'));

  const exit = await Promise.race([first.exited, new Promise<undefined>((r) => setTimeout(r, 60_000, undefined))]);
  t.equal(exit?.signal, 'SIGKILL', 'the reconciler died right after SnapshotCreate');
  t.ok(first.lines.some((l) => l.includes(CRASH_LINE)), 'at the crash point');
  const afterCrash = await env.admin.get<any>(Kinds.VMSnapshot, env.ns, 'nightly');
  t.equal(afterCrash.status?.phase, 'Creating', 'the intent was recorded before the call');
  t.notOk(afterCrash.status?.snapshotID, 'and the id never was');
  t.equal(condition(afterCrash, 'Ready')?.reason, 'Creating');
  const taken = providerVm(vm.status.id).snapshots;
  t.equal(taken.length, 1, 'the provider took the snapshot before the crash');
  t.equal(taken[0]!.name, snapshotNameHint(created), 'under the name hint');
  t.match(taken[0]!.name, uidToken(created.metadata.uid), 'which carries the VMSnapshot uid token');

  const second = startChild(kubeconfig, env.ns, stateDir, false);
  t.teardown(() => second.kill());
  const ready = await env.waitFor<any>(Kinds.VMSnapshot, 'nightly', (o) => o.status?.phase === 'Ready', 'Ready after the restart', 60_000);
  const after = providerVm(vm.status.id).snapshots;
  t.equal(after.length, 1, 'exactly one snapshot on the provider');
  t.equal(ready.status.snapshotID, after[0]!.id, 'status.snapshotID names it');
  const events = await eventually('the Recovered event', async () => {
    const evs = await eventsFor(env, 'nightly');
    return evs.some((e) => e.reason === 'Recovered') ? evs : undefined;
  });
  t.match(events?.find((e) => e.reason === 'Recovered')?.message, /found snapshot .* taken by an earlier attempt; not taking another/);
  await second.kill();
});

t.test('the answer of SnapshotCreate lost: the retry finds the snapshot, takes no second one', async (t) => {
  const lost = { remaining: 1, calls: 0 };
  class LossyMemoryProvider extends MemoryProvider {
    override async snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
      lost.calls++;
      const res = await super.snapshotCreate(req, o);
      if (lost.remaining > 0) {
        lost.remaining--;
        throw new ProviderError('Retryable', 'SnapshotCreate: connection reset by peer after the request was sent', 'SnapshotCreate');
      }
      return res;
    }
  }
  // The same state file as the crashed processes used: VM "web" is there.
  const registry = new ProviderRegistry().register('memory', (ctx) => new LossyMemoryProvider({ ...memoryOptionsFromContext(ctx), stateFile }));
  const op = await env.start({ registry });
  const vm = await env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'web');
  const before = providerVm(vm.status.id).snapshots.length;
  const created = await env.admin.create<any>(Kinds.VMSnapshot, snapshotObject(env.ns, 'weekly', 'web'));
  const ready = await env.waitFor<any>(Kinds.VMSnapshot, 'weekly', (o) => o.status?.phase === 'Ready', 'Ready', 60_000);
  const mine = providerVm(vm.status.id).snapshots.filter((s) => s.name === snapshotNameHint(created));
  t.equal(mine.length, 1, 'exactly one snapshot of this VMSnapshot on the provider');
  t.equal(providerVm(vm.status.id).snapshots.length, before + 1, 'and no other new one');
  t.equal(ready.status.snapshotID, mine[0]!.id, 'status.snapshotID names it');
  t.equal(lost.calls, 1, 'SnapshotCreate reached the provider once');
  const events = await eventually('the Recovered event', async () => {
    const evs = await eventsFor(env, 'weekly');
    return evs.some((e) => e.reason === 'Recovered') ? evs : undefined;
  });
  t.ok(events?.some((e) => e.type === 'Warning' && e.reason === 'ProviderError' && /connection reset/.test(e.message)), 'the lost answer was reported as a Warning');

  // Deleting a VMSnapshot deletes its snapshot on the provider.
  await env.admin.delete(Kinds.VMSnapshot, env.ns, 'weekly');
  await eventually('weekly released', async () => !(await env.admin.get(Kinds.VMSnapshot, env.ns, 'weekly')), 30_000);
  t.same(providerVm(vm.status.id).snapshots.filter((s) => s.name === snapshotNameHint(created)), [], 'gone from the provider');
  await op.stop();
});
