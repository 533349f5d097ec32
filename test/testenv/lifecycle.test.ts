/**
 * Private control planes stop cleanly, and nothing survives a killed owner.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, useControlPlane, type ControlPlaneState } from '../../src/testenv';
import { pidAlive } from '../../src/testenv/processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `pid` has ended (zombies count as ended). */
async function gone(pid: number | undefined, timeoutMs = 15_000): Promise<boolean> {
  if (!pid) return false;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  return false;
}

t.test('stop() ends both servers and removes the working directory', async (t) => {
  const cp = await useControlPlane(t, { private: true, crds: [] });
  const { etcd, kubeApiserver } = cp.state.pids;
  t.ok(cp.owned);
  t.ok(pidAlive(etcd!) && pidAlive(kubeApiserver!), 'both running');
  await cp.stop();
  t.ok(await gone(etcd), 'etcd gone');
  t.ok(await gone(kubeApiserver), 'kube-apiserver gone');
  t.notOk(existsSync(cp.dir), 'working directory removed');
  await cp.stop();
  t.pass('stop() is idempotent');
});

t.test('a SIGKILLed owner takes etcd and kube-apiserver with it', async (t) => {
  // A child process starts a control plane, reports its state, then is
  // killed without any chance to clean up.
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'testenv', 'fixtures', 'owner-process.ts')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const state = await new Promise<ControlPlaneState>((res, rej) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) res(JSON.parse(line) as ControlPlaneState);
    });
    child.on('exit', (code) => rej(new Error(`child exited early with ${code}`)));
  });
  t.ok(pidAlive(state.pids.etcd!) && pidAlive(state.pids.kubeApiserver!), 'servers running');
  child.kill('SIGKILL');
  t.ok(await gone(child.pid), 'owner gone');
  t.ok(await gone(state.pids.kubeApiserver), 'kube-apiserver died with its owner');
  t.ok(await gone(state.pids.etcd), 'etcd died with its owner');
  // The next start in this temp dir sweeps the dead owner's directory.
  const next = await useControlPlane(t, { private: true, crds: [] });
  t.notOk(existsSync(state.dir), 'stale working directory swept by the next start');
  await next.stop();
  t.notOk(existsSync(join(state.dir, 'etcd.log')));
});

t.test('a server that fails to start is reported with its log', async (t) => {
  const err = await useControlPlane(t, { private: true, crds: [], apiServerArgs: ['--no-such-flag=1'] }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.ok(err, 'start rejected');
  t.match(err?.message, /kube-apiserver exited \(code 1\)/);
  t.match(err?.message, /unknown flag: --no-such-flag/);
});
