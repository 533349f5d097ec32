/**
 * Firecracker processes. Each microVM is one `firecracker --api-sock`
 * process started detached (own session), so it outlives the provider;
 * the pidfile plus /proc is how any provider instance finds it again.
 * With the operator's `netns`, the process runs inside that network
 * namespace (`ip netns exec`), where Firecracker creates its taps.
 */
import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import { ProviderError } from '../provider';
import { ownedPid } from '../hostutil';
import { fcApi } from './api';
import type { Layout } from './layout';

export interface HostSettings {
  /** The firecracker binary (operator configuration or FIRECRACKER_BIN). */
  readonly binary: string;
  /** Network namespace the processes run in (created by the operator); none: the host's. */
  readonly netns?: string;
}

/** The pid of the VM's Firecracker when it is alive and really this VM's process (its command line names the socket). */
export function livePid(layout: Layout, id: string): Promise<number | undefined> {
  return ownedPid(layout.pidfile(id), (argv) => argv.includes(layout.socket(id)));
}

/** Starts an empty Firecracker for the VM and waits for its API socket to answer. */
export async function spawnVmm(host: HostSettings, layout: Layout, id: string): Promise<number> {
  const sock = layout.socket(id);
  await fs.rm(sock, { force: true });
  const fcArgs = ['--api-sock', sock, '--id', id.slice(0, 64), '--level', 'Warning'];
  const [cmd, args] = host.netns ? ['ip', ['netns', 'exec', host.netns, host.binary, ...fcArgs]] : [host.binary, fcArgs];
  const logFd = openSync(layout.log(id), 'a', 0o600);
  let child;
  try {
    child = spawn(cmd, args, { detached: true, cwd: layout.vmDir(id), stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (code, sig) => resolve(`exited with ${sig ?? code}`));
  });
  child.unref();
  if (child.pid === undefined) throw new ProviderError('Internal', `cannot start ${host.binary}: ${await exited}`);
  await fs.writeFile(layout.pidfile(id), `${child.pid}\n`);
  const end = Date.now() + 10_000;
  for (;;) {
    const done = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 25))]);
    if (done !== undefined) {
      const tail = (await fs.readFile(layout.log(id), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      throw new ProviderError('Internal', `Firecracker (${host.binary}) for ${id} ${done} before its API socket answered${tail ? `: ${tail}` : ''}`);
    }
    if (await fcApi(sock, { method: 'GET', path: '/', timeoutMs: 1_000 }).then(() => true, () => false)) return child.pid;
    if (Date.now() > end) {
      await kill(child.pid);
      throw new ProviderError('Retryable', `Firecracker for ${id} did not open its API socket within 10 s`);
    }
  }
}

async function kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

export async function waitDead(layout: Layout, id: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (await livePid(layout, id)) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/** Hard stop: SIGTERM (Firecracker exits cleanly on it), then SIGKILL. Removes the socket and pidfile. */
export async function terminate(layout: Layout, id: string): Promise<void> {
  const pid = await livePid(layout, id);
  if (pid) {
    await kill(pid, 'SIGTERM');
    if (!(await waitDead(layout, id, 2_000))) {
      await kill(pid, 'SIGKILL');
      if (!(await waitDead(layout, id, 5_000))) throw new ProviderError('Retryable', `Firecracker ${pid} of ${id} did not exit after SIGKILL`);
    }
  }
  await fs.rm(layout.socket(id), { force: true });
  await fs.rm(layout.pidfile(id), { force: true });
}

/** Waits for the taps of an ended process to go (the kernel drops them when the last fd closes); deletes any that stays. */
export async function removeTaps(host: HostSettings, taps: readonly string[]): Promise<void> {
  const ip = (args: string[]) => new Promise<boolean>((resolve) => {
    const c = spawn('ip', host.netns ? ['-n', host.netns, ...args] : args, { stdio: 'ignore' });
    c.once('error', () => resolve(false));
    c.once('exit', (code) => resolve(code === 0));
  });
  for (const tap of taps) {
    const end = Date.now() + 2_000;
    while (await ip(['link', 'show', 'dev', tap])) {
      if (Date.now() > end) {
        await ip(['link', 'del', 'dev', tap]);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
