/**
 * One control plane shared by all test files of a `tap` run.
 *
 * tap runs its `before` script, then the test files, then its `after`
 * script, each as a child of the same runner process. The before script
 * starts a detached supervisor (supervisor.ts) that owns etcd and
 * kube-apiserver and writes a state file named after the runner's pid;
 * test files find it through their parent pid, and the after script stops
 * the supervisor. The supervisor also stops everything by itself when the
 * runner disappears (Ctrl-C, kill), so nothing outlives the run.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readdirSync, rmSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './binaries';
import { pidAlive } from './processes';
import {
  attachControlPlane,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlaneState,
} from './control-plane';

/** Contents of a shared control plane's state file. */
export interface SharedState {
  readonly status: 'starting' | 'ready' | 'failed';
  /** Pid of the supervisor process that owns the servers. */
  readonly supervisorPid: number;
  /** Set when status is `ready`. */
  readonly plane?: ControlPlaneState;
  /** Why the control plane could not start (status `failed`). */
  readonly error?: string;
  /** Milliseconds from supervisor start to ready. */
  readonly startMs?: number;
}

/**
 * Environment variable naming a state file to use instead of the per-run
 * one, e.g. the one `npm run cluster` prints, so tests run against it.
 */
export const STATE_ENV = 'VIRTRIGAUD_TESTENV_STATE';

const STATE_PREFIX = 'virtrigaud-testenv-shared-';

/** The state file of the shared control plane owned on behalf of `runnerPid`. */
export function sharedStatePath(runnerPid: number): string {
  return join(tmpdir(), `${STATE_PREFIX}${runnerPid}.json`);
}

export async function readSharedState(path: string): Promise<SharedState | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SharedState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes via rename so readers never see half a file. */
export async function writeSharedState(path: string, state: SharedState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(tmp, path);
}

function sweepStaleStateFiles(): void {
  for (const e of readdirSync(tmpdir())) {
    const m = new RegExp(`^${STATE_PREFIX}(\\d+)\\.json`).exec(e);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), e), { force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * For tap's `before` script: starts the shared control plane in a detached
 * supervisor and waits until it is ready or has failed. A failure is stored
 * in the state file (and printed) rather than thrown, so test files that
 * need the control plane fail with the reason while the others still run.
 *
 * @param runnerPid the tap runner, whose death also stops the control plane
 */
export async function startSharedControlPlane(runnerPid: number, log: (m: string) => void = () => {}): Promise<SharedState> {
  sweepStaleStateFiles();
  const statePath = sharedStatePath(runnerPid);
  const logPath = statePath.replace(/\.json$/, '.log');
  const fd = openSync(logPath, 'w');
  const started = Date.now();
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src', 'testenv', 'supervisor.ts'), `--state=${statePath}`, `--watch-pid=${runnerPid}`],
      // Own session: a Ctrl-C in the terminal reaches the runner, and the
      // supervisor then notices the runner is gone and shuts down in order.
      { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd] },
    );
    child.unref();
    const supervisorPid = child.pid ?? -1;
    for (;;) {
      const st = await readSharedState(statePath);
      if (st && st.status !== 'starting') {
        log(st.status === 'ready' ? `shared control plane ready at ${st.plane?.server} in ${Date.now() - started} ms` : `shared control plane failed:\n${st.error}`);
        return st;
      }
      if (!pidAlive(supervisorPid)) {
        const out = existsSync(logPath) ? await readFile(logPath, 'utf8') : '';
        const failed: SharedState = {
          status: 'failed',
          supervisorPid,
          error: `the control plane supervisor exited before it was ready. Its output (${logPath}):\n${out.trim().split('\n').slice(-30).join('\n')}`,
        };
        await writeSharedState(statePath, failed);
        log(failed.error!);
        return failed;
      }
      if (Date.now() - started > 180_000) {
        process.kill(supervisorPid, 'SIGTERM');
        const failed: SharedState = { status: 'failed', supervisorPid, error: `shared control plane not ready after 180 s (see ${logPath})` };
        await writeSharedState(statePath, failed);
        return failed;
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}

/** For tap's `after` script: stops the shared control plane of `runnerPid`. */
export async function stopSharedControlPlane(runnerPid: number, log: (m: string) => void = () => {}): Promise<void> {
  const statePath = sharedStatePath(runnerPid);
  const st = await readSharedState(statePath);
  if (!st) return;
  const pid = st.supervisorPid;
  if (pid > 0 && pidAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
    if (pidAlive(pid)) {
      log(`supervisor ${pid} did not stop within 30 s; killing it`);
      process.kill(pid, 'SIGKILL');
    }
  }
  await rm(statePath, { force: true });
  await rm(statePath.replace(/\.json$/, '.log'), { force: true });
  log('shared control plane stopped');
}

/** The part of a tap `Test` that {@link useControlPlane} needs. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export interface UseControlPlaneOptions extends ControlPlaneOptions {
  /**
   * Always start a control plane of your own (e.g. to pass apiServerArgs or
   * to test something cluster-wide that must not disturb other files).
   * @default false
   */
  readonly private?: boolean;
}

/**
 * The control plane for a test file: the run's shared one when tap's
 * `before` script started it (or `$VIRTRIGAUD_TESTENV_STATE` names one),
 * otherwise a private one that is stopped in `t.teardown`.
 *
 * Either way it starts without CRDs (unless `opts.crds` is given for a
 * private one): a test that needs some calls `cp.applyCrds([...])`, which is
 * idempotent and safe to run from several files at once. That way a broken
 * CRD fails only the tests that install it.
 *
 * Tests that share a control plane must not get in each other's way: use
 * your own namespaces and uniquely named cluster-scoped objects.
 *
 * Rejects with the shared control plane's startup error (e.g. missing
 * binaries, with instructions) so that the test fails instead of skipping.
 */
export async function useControlPlane(t: TeardownHost, opts: UseControlPlaneOptions = {}): Promise<ControlPlane> {
  if (!opts.private) {
    const path = process.env[STATE_ENV] || sharedStatePath(process.ppid);
    let st = await readSharedState(path);
    while (st?.status === 'starting') {
      await sleep(200);
      st = await readSharedState(path);
    }
    if (st?.status === 'failed') throw new Error(`the shared test control plane failed to start:\n${st.error}`);
    if (st?.status === 'ready' && st.plane) return attachControlPlane(st.plane);
    if (process.env[STATE_ENV]) throw new Error(`${STATE_ENV}=${path} does not name a usable control plane state file`);
  }
  const { private: _private, ...startOpts } = opts;
  const cp = await startControlPlane({ crds: [], ...startOpts });
  t.teardown(() => cp.stop());
  return cp;
}
