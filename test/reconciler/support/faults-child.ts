/**
 * `virtrigaud run` as a child process (the real binary, flags and all), so
 * a test can SIGKILL it like the kubelet OOM-killing a pod, then start
 * another one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../../src/testenv';

export interface ChildOperator {
  readonly proc: ChildProcess;
  /** stdout and stderr lines, in arrival order. */
  readonly lines: string[];
  /** Resolves when the VirtualMachine workers run (the caches are synced). */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/**
 * The child's operator configuration: the in-memory test driver as instance `memory` for the test's
 * namespace, keeping its VMs in `stateDir` so they outlive the process.
 */
function writeChildConfig(namespace: string, stateDir: string): string {
  const file = path.join(stateDir, 'reconciler-config.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: config.virtrigaud.io/v1alpha1',
      'kind: ReconcilerConfiguration',
      'inProcessProviders:',
      '  - name: memory',
      '    driver: memory',
      `    namespaces: [${namespace}]`,
      '    memory:',
      `      stateDir: ${JSON.stringify(stateDir)}`,
      '',
    ].join('\n'),
  );
  return file;
}

export function startChildOperator(opts: { kubeconfig: string; namespace: string; stateDir: string; extraArgs?: string[]; env?: Record<string, string> }): ChildOperator {
  const args = [
    path.join(REPO_ROOT, 'bin', 'virtrigaud.js'), 'run',
    '--kubeconfig', opts.kubeconfig,
    '--config', writeChildConfig(opts.namespace, opts.stateDir),
    '--enable-test-providers',
    '--namespace', opts.namespace,
    '--health-probe-bind-address=127.0.0.1:0',
    '--metrics-bind-address=0',
    '--log-format=json',
    '--task-poll-interval=100ms',
    '--resync-period=5s',
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let readyFn!: () => void;
  let failFn!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyFn = res;
    failFn = rej;
  });
  ready.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.on('exit', (code, signal) => {
      failFn(new Error(`child exited (${code ?? signal}) before it was ready:\n${lines.slice(-20).join('\n')}`));
      res({ code, signal });
    });
  });
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (process.env.VIRTRIGAUD_TEST_LOGS === '1') process.stderr.write(`# child ${proc.pid}: ${l}\n`);
        if (l.includes('"starting workers"') && l.includes('"controller":"virtualmachine"')) readyFn();
      }
    });
  }
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  return { proc, lines, ready, exited, kill };
}
