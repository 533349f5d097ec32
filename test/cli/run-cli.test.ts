/**
 * `virtrigaud run` as a process, the way the install's Deployment starts
 * it: flags, probes, metrics, JSON logs, leader election and a graceful
 * SIGTERM. The flags of dist/install.yaml must parse.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunFlags, UsageError } from '../../src/cli/run-command';
import { Kinds } from '../../src/reconciler/kinds';
import { CoreResources } from '../../src/reconciler/runtime';
import { REPO_ROOT } from '../../src/testenv';
import { condition, createFixtures, installDocs, operatorEnv, vmObject } from '../reconciler/support/env';

t.test('the install Deployment args are valid run flags', async (t) => {
  const deployment = installDocs().find((d) => d.kind === 'Deployment');
  const args: string[] = deployment.spec.template.spec.containers[0].args;
  t.equal(args[0], 'run');
  const flags = parseRunFlags(args.slice(1), { POD_NAMESPACE: 'virtrigaud-system' });
  t.equal(flags.leaderElect, true);
  t.equal(flags.metricsBindAddress, ':8080');
  t.equal(flags.healthProbeBindAddress, ':8081');
  t.equal(flags.leaderElectionNamespace, 'virtrigaud-system', 'Lease namespace from POD_NAMESPACE');
  t.equal(flags.config, '/etc/virtrigaud/config.yaml', 'the configuration from the install\'s ConfigMap');
  t.equal(flags.enableTestProviders, false, 'no test driver in the install');
});

t.test('a bad --config stops the reconciler before it starts, naming the file and the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-cli-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'inProcessProviders:\n  - name: lab\n    driver: qemu\n    namespaces: [a]\n    qemu: { stateDir: relative }\n');
  const { lines, exited } = startCli(['run', '--config', file]);
  t.equal(await exited, 2);
  t.match(lines.join('\n'), new RegExp(`error: ${file}: invalid reconciler configuration:\\n {2}inProcessProviders\\[0\\]\\.qemu\\.stateDir: Invalid value: "relative"`));
});

t.test('bad flags are usage errors naming the flag', async (t) => {
  t.throws(() => parseRunFlags(['--log-level', 'loud']), new UsageError('flag --log-level: "loud" is not one of debug, info, warn, error'));
  t.throws(() => parseRunFlags(['--provider-address', 'nope']), /NAMESPACE\/NAME=HOST:PORT/);
  t.throws(() => parseRunFlags(['--resync-period', '0s']), /not a duration/);
  t.throws(() => parseRunFlags(['--frobnicate']), /unknown flag "--frobnicate"/);
  t.throws(() => parseRunFlags(['--namespace']), /needs a value/);
  const f = parseRunFlags(['--provider-address=a/b=10.0.0.1:9443', '--vm-workers=3', '--task-poll-interval', '500ms']);
  t.equal(f.providerAddresses.get('a/b'), '10.0.0.1:9443');
  t.equal(f.vmWorkers, 3);
  t.equal(f.pollMs, 500);
});

/** An operator configuration with the in-memory driver as instance `memory` for `ns`. */
function testConfigFile(ns: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vr-cli-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `inProcessProviders:\n  - name: memory\n    driver: memory\n    namespaces: [${ns}]\n`);
  return file;
}

function startCli(args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'virtrigaud.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, lines, exited };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('unknown flags exit 2 with the usage', async (t) => {
  const { lines, exited } = startCli(['run', '--bogus']);
  t.equal(await exited, 2);
  t.match(lines.join('\n'), /unknown flag "--bogus"[\s\S]*Usage: virtrigaud run/);
});

t.test('run: probes, metrics, JSON logs, leader election, graceful SIGTERM', async (t) => {
  const env = await operatorEnv(t);
  await createFixtures(env);
  const sa = await env.cp.kubeconfigForServiceAccount(env.ns, env.serviceAccount);
  const { child, lines, exited } = startCli([
    'run', '--kubeconfig', sa.path, '--namespace', env.ns, '--leader-elect', '--leader-election-namespace', env.ns,
    // The in-memory test driver, switched on explicitly, as instance `memory` for this namespace.
    '--enable-test-providers', '--config', testConfigFile(env.ns),
    '--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=127.0.0.1:0', '--log-format=json', '--log-level=debug', '--task-poll-interval=200ms',
  ]);
  t.teardown(() => child.kill('SIGKILL'));
  const json = () => lines.flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  const ports = await until('probe servers', () => json().find((l) => l.msg === 'probe servers listening'));
  const notJson = lines.filter((l) => l.trim() !== '' && !l.startsWith('{'));
  t.same(notJson, [], 'every log line is JSON');
  const get = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, text: await r.text() };
  };
  t.equal((await get(ports.healthPort, '/healthz')).status, 200, '/healthz');
  await until('/readyz 200', async () => ((await get(ports.healthPort, '/readyz')).status === 200 ? true : undefined));

  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'cli-vm'));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'cli-vm', (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running');
  t.match(vm.status.id, /\S/);
  const lease = await env.admin.get(CoreResources.leases, env.ns, 'virtrigaud-leader');
  t.match(lease?.spec?.holderIdentity, /\S/, 'the process holds the Lease');

  const metrics = (await get(ports.metricsPort, '/metrics')).text;
  t.match(metrics, /rest_client_requests_total\{/, 'client request counts');
  t.match(metrics, /controller_runtime_reconcile_total\{controller="virtualmachine"/, 'reconcile counts');
  t.match(metrics, /workqueue_depth/, 'work queue metrics');
  t.match(metrics, /process_resident_memory_bytes \d+/, 'process metrics');

  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
  t.equal(code, 0, 'exits 0 after SIGTERM');
  t.ok(json().some((l) => l.msg === 'manager stopped'), 'logged a clean stop');
  const released = await env.admin.get(CoreResources.leases, env.ns, 'virtrigaud-leader');
  t.notOk(released?.spec?.holderIdentity, 'the Lease is released on shutdown');
});

t.test('run with a kubeconfig that does not exist fails clearly', async (t) => {
  const { lines, exited } = startCli(['run', '--kubeconfig', '/nonexistent/kubeconfig', '--log-format=text']);
  t.equal(await exited, 1);
  t.match(lines.join('\n'), /cannot load the kubeconfig/);
  t.notMatch(lines.join('\n'), /^\s+at /m, 'no stack trace');
});
