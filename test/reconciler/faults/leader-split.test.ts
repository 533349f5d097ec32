/**
 * Split brain, the way a node freeze causes it: two `virtrigaud run`
 * replicas with leader election (lease 4 s, renew deadline 3 s, retry
 * 0.5 s), each with a ServiceAccount of its own. The leader is SIGSTOPped
 * in the middle of creating VMs, for longer than the lease; the standby
 * takes the Lease over and converges everything, including a VM created
 * meanwhile. Then the old leader gets SIGCONT: with its timers overdue and
 * its caches stale, it must step down without a single write and exit
 * non-zero. The API server's audit log (every write by a ServiceAccount) is
 * the witness: no write by the old leader was received after the new
 * leader's acquisition of the Lease.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MemoryProvider } from '../../../src/providers/memory';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources, type ResourceType } from '../../../src/reconciler/runtime';
import { createFixtures, installDocs, operatorEnv, RBAC, vmObject } from '../support/env';
import { startChildOperator } from '../support/faults-child';
import { delay, duplicates, eventually, waitAllConverged } from '../support/faults-helpers';

const LEASE = 'virtrigaud-leader';
const TIMINGS = ['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=500ms'];
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  /** RFC 3339 with microseconds, UTC: compares as a string. */
  requestReceivedTimestamp: string;
}

const describe = (e: AuditEvent) =>
  `${e.requestReceivedTimestamp} ${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''} -> ${e.responseStatus?.code}`;

t.test('a leader paused past its lease makes no write after the takeover', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'virtrigaud-split-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyFile = path.join(dir, 'audit-policy.yaml');
  const auditLog = path.join(dir, 'audit.log');
  // Writes by ServiceAccounts (the replicas), at Metadata level; nothing else.
  writeFileSync(policyFile, [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    'omitStages: [RequestReceived]',
    'rules:',
    '- level: Metadata',
    '  userGroups: [system:serviceaccounts]',
    `  verbs: [${[...WRITES].join(', ')}]`,
    '- level: None',
    '',
  ].join('\n'));
  const env = await operatorEnv(t, { private: true, apiServerArgs: [`--audit-policy-file=${policyFile}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking'] });
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab?asyncTasks=1&completeAfterMs=300&latencyMs=100' });
  const stateDir = path.join(dir, 'provider');
  mkdirSync(stateDir);

  // One ServiceAccount per replica, bound to the install's rules: the audit log tells them apart.
  const docs = installDocs();
  const subjects = ['replica-a', 'replica-b'].map((name) => ({ kind: 'ServiceAccount', name, namespace: env.ns }));
  const rbac = (plural: string, kind: string, namespaced: boolean): ResourceType => ({ ...RBAC, plural, kind, namespaced });
  const crName = `virtrigaud-split-${env.ns}`;
  await env.admin.create(rbac('clusterroles', 'ClusterRole', false), { metadata: { name: crName }, rules: docs.find((d) => d.kind === 'ClusterRole').rules });
  await env.admin.create(rbac('clusterrolebindings', 'ClusterRoleBinding', false), { metadata: { name: crName }, roleRef: { apiGroup: RBAC.group, kind: 'ClusterRole', name: crName }, subjects });
  await env.admin.create(rbac('roles', 'Role', true), { metadata: { name: 'split-leader-election', namespace: env.ns }, rules: docs.find((d) => d.kind === 'Role').rules });
  await env.admin.create(rbac('rolebindings', 'RoleBinding', true), { metadata: { name: 'split-leader-election', namespace: env.ns }, roleRef: { apiGroup: RBAC.group, kind: 'Role', name: 'split-leader-election' }, subjects });
  const user = (r: 'a' | 'b') => `system:serviceaccount:${env.ns}:replica-${r}`;
  const replica = async (r: 'a' | 'b') => {
    const kubeconfig = (await env.cp.kubeconfigForServiceAccount(env.ns, `replica-${r}`, { expirationSeconds: 3600 })).path;
    const child = startChildOperator({
      kubeconfig, namespace: env.ns, stateDir, env: { POD_NAME: r },
      extraArgs: ['--leader-elect', `--leader-election-namespace=${env.ns}`, ...TIMINGS],
    });
    t.teardown(async () => {
      child.proc.kill('SIGCONT');
      await child.kill();
    });
    return child;
  };
  const holder = async () => (await env.admin.get(CoreResources.leases, env.ns, LEASE))?.spec?.holderIdentity;
  const createVMs = async (names: string[]) => {
    for (const n of names) await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, n));
  };
  const created = (lines: readonly string[]) => lines.filter((l) => l.includes('"reason":"Created"')).length;

  const a = await replica('a');
  await a.ready;
  t.equal(await holder(), 'a', 'a leads');
  const b = await replica('b');
  await eventually('b campaigns', () => b.lines.some((l) => l.includes('"probe servers listening"')), 30_000);
  await createVMs(['first-0', 'first-1', 'first-2']);
  await waitAllConverged(env, 3, 30_000);
  t.equal(await holder(), 'a', 'a still leads: b stands by');

  // Freeze a while it creates the next batch: calls and status writes are in flight or due.
  await createVMs(['frozen-0', 'frozen-1', 'frozen-2', 'frozen-3']);
  await eventually('a created a VM of the batch', () => created(a.lines) > 3, 20_000, 5);
  a.proc.kill('SIGSTOP');
  const stoppedAt = Date.now();
  await eventually('b holds the lease', async () => (await holder()) === 'b', 30_000, 100);
  t.comment(`b took over ${Date.now() - stoppedAt} ms after a was stopped`);
  await createVMs(['meanwhile-0']);
  await waitAllConverged(env, 8, 60_000);
  t.equal(a.proc.exitCode ?? a.proc.signalCode, null, 'a is still there, stopped');
  t.ok(Date.now() - stoppedAt > 4000, 'a was stopped for longer than the lease duration');

  a.proc.kill('SIGCONT');
  const exit = await Promise.race([a.exited, delay(30_000).then(() => 'still running 30 s after SIGCONT')]);
  t.same(exit, { code: 1, signal: null }, 'the old leader exits with status 1');
  const lost = a.lines.find((l) => l.includes('"leadership lost"'));
  t.match(lost, /"reason":"renew deadline passed"/, 'it stepped down: its renew deadline had passed');
  t.ok(a.lines.some((l) => l.includes('"leader election lost"')), 'and reported the lost election');
  t.comment(`a refused ${a.lines.filter((l) => l.includes('refusing to ')).length} writes of its own after SIGCONT`);

  // b keeps working after a came back.
  await createVMs(['after-0']);
  const vms = await waitAllConverged(env, 9, 30_000);
  t.equal(await holder(), 'b', 'b still leads');

  const events: AuditEvent[] = [];
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    try {
      events.push(JSON.parse(line));
    } catch {
      // an empty last line
    }
  }
  const writes = events.filter((e) => e.stage === 'ResponseComplete' && WRITES.has(e.verb));
  const byA = writes.filter((e) => e.user.username === user('a'));
  const byB = writes.filter((e) => e.user.username === user('b'));
  const takeover = byB.filter((e) => e.objectRef?.resource === 'leases' && e.responseStatus?.code === 200).map((e) => e.requestReceivedTimestamp).sort()[0];
  t.ok(takeover, `the audit log has b's acquisition of the Lease (${takeover})`);
  t.ok(byA.filter((e) => e.objectRef?.resource === 'virtualmachines').length >= 7, `a's writes while it led are in the audit log (${byA.length})`);
  t.ok(byB.filter((e) => e.objectRef?.resource === 'virtualmachines' && e.requestReceivedTimestamp > takeover!).length > 0, 'so are b\'s after the takeover');
  t.same(byA.filter((e) => e.requestReceivedTimestamp >= takeover!).map(describe), [], 'no write by the old leader was received after the takeover');

  const stateFiles = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
  t.equal(stateFiles.length, 1, `one provider state file (${stateFiles.join(', ')})`);
  const onProvider = await new MemoryProvider({ stateFile: path.join(stateDir, stateFiles[0]!) }).listVMs();
  t.same(duplicates(onProvider.map((v) => v.name)), [], 'no VM was created twice on the provider');
  t.same(onProvider.map((v) => v.name).sort(), vms.map((v) => v.metadata.name).sort(), 'one provider VM per VirtualMachine');
});
