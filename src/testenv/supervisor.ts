/**
 * Supervisor process of a shared control plane (started by shared.ts).
 *
 *   node --import tsx src/testenv/supervisor.ts --state=<file> --watch-pid=<pid>
 *
 * Owns etcd and kube-apiserver, publishes their connection state in <file>,
 * and stops them when it gets SIGTERM/SIGINT/SIGHUP or when <pid> (the tap
 * runner) no longer exists. If the supervisor itself is SIGKILLed, the
 * servers die with it through their parent-death signal.
 */
import { rm } from 'node:fs/promises';
import { startControlPlane, type ControlPlane } from './control-plane';
import { pidAlive } from './processes';
import { writeSharedState } from './shared';

function arg(name: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (!a) throw new Error(`supervisor: missing --${name}=...`);
  return a.slice(name.length + 3);
}

async function main(): Promise<void> {
  const statePath = arg('state');
  const watchPid = Number(arg('watch-pid'));
  const log = (m: string) => console.error(`[supervisor ${process.pid}] ${m}`);
  const t0 = Date.now();
  await writeSharedState(statePath, { status: 'starting', supervisorPid: process.pid });

  let cp: ControlPlane | undefined;
  let shuttingDown = false;
  const shutdown = async (why: string, code = 0) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`stopping (${why})`);
    await cp?.stop();
    await rm(statePath, { force: true });
    process.exit(code);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig));
  // Polling is the portable way to notice a non-child process is gone.
  setInterval(() => {
    if (!pidAlive(watchPid)) void shutdown(`watched process ${watchPid} is gone`);
  }, 500);

  try {
    // No CRDs: tests install what they need (useControlPlane), so a broken
    // CRD fails only those tests, not the whole shared control plane.
    cp = await startControlPlane({ crds: [], log });
  } catch (err) {
    await writeSharedState(statePath, { status: 'failed', supervisorPid: process.pid, error: (err as Error).message });
    log(`failed: ${(err as Error).message}`);
    // Keep the failed state for the test files; the after script removes it.
    process.exit(1);
  }
  await writeSharedState(statePath, {
    status: 'ready',
    supervisorPid: process.pid,
    plane: cp.state,
    startMs: Date.now() - t0,
  });
  log(`ready at ${cp.server} after ${Date.now() - t0} ms`);
  const report = await cp.crashed;
  log(`a server died: ${report}`);
  await writeSharedState(statePath, { status: 'failed', supervisorPid: process.pid, error: `a control plane server died during the run: ${report}` });
  shuttingDown = true;
  await cp.stop();
  process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
