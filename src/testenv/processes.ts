/**
 * Child-process plumbing for etcd and kube-apiserver: free ports, spawning
 * with output to log files, readiness polling and orderly termination.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * Whether a process exists and is not a zombie (a killed child whose parent
 * has not reaped it yet cannot clean up after itself any more).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

/** Asks the kernel for a currently free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

let setprivPath: string | null | undefined;

/**
 * `setpriv` (util-linux) can set the parent-death signal before exec'ing the
 * real binary, so the kernel kills etcd/kube-apiserver even when their parent
 * is SIGKILLed and no JavaScript cleanup code runs.
 */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'setpriv');
    try {
      accessSync(p, constants.X_OK);
      setprivPath = p;
      break;
    } catch {
      /* keep looking */
    }
  }
  return setprivPath;
}

/** A running server process whose output goes to a log file. */
export class ManagedProcess {
  /** Exit code or signal once the process has ended. */
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has ended (or failed to spawn). */
  readonly ended: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
    /** What was started, so the process can be started again (restart tests). */
    readonly bin: string,
    readonly args: readonly string[],
  ) {
    this.ended = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        res();
      });
      // Spawn errors (ENOENT, EACCES) arrive here and there is no 'exit'.
      child.once('error', (err) => {
        this.exited ??= { code: -1, signal: null };
        this.spawnError = err;
        res();
      });
    });
  }

  spawnError: Error | undefined;

  /**
   * Starts `bin args...` in its own process group (so a terminal's Ctrl-C
   * reaches only our process, which then stops the servers in order) with
   * stdout and stderr appended to `logPath`.
   */
  static start(name: string, bin: string, args: readonly string[], logPath: string): ManagedProcess {
    const fd = openSync(logPath, 'a');
    const setpriv = findSetpriv();
    const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, [...args]];
    try {
      const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], detached: true });
      // Do not keep the event loop alive just for the server.
      child.unref();
      return new ManagedProcess(name, child, logPath, bin, args);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 30): string {
    try {
      const text = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
      return text.slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Describes how the process ended: its klog error lines and log tail. */
  exitReport(): string {
    const how = this.spawnError
      ? `could not be started: ${this.spawnError.message}`
      : `exited (code ${this.exited?.code ?? '?'}${this.exited?.signal ? `, signal ${this.exited.signal}` : ''})`;
    let errors: string[] = [];
    try {
      // klog error/fatal lines ("E1123 ..."), etcd's JSON "level":"error"/"fatal".
      errors = readFileSync(this.logPath, 'utf8')
        .split('\n')
        .filter((l) => /^[EF]\d{4} /.test(l) || /"level":"(error|fatal|panic)"/.test(l))
        .slice(-10);
    } catch {
      /* no log */
    }
    const errPart = errors.length ? `Errors logged:\n${errors.join('\n')}\n` : '';
    return `${this.name} ${how}. ${errPart}Last lines of its log (${this.logPath}; VIRTRIGAUD_TESTENV_KEEP=1 keeps it):\n${this.logTail(15)}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.ended;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Immediate SIGKILL, usable from synchronous `exit` handlers. */
  killNow(): void {
    if (!this.exited) this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Checked on every round; a string aborts the wait with that message. */
  readonly abortIf?: () => string | undefined;
}

/**
 * Polls `probe` until it returns true. Rejects with the last probe error on
 * timeout, or as soon as `abortIf` reports a problem.
 */
export async function pollUntil(what: string, probe: () => Promise<boolean>, opts: PollOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'not checked yet';
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort) throw new Error(`${what}: ${abort}`);
    try {
      if (await probe()) return;
      last = 'not ready';
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what} (last result: ${last})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/** GETs a URL on loopback; TLS options apply to https URLs. */
export function httpGet(url: string, tls: RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', timeout: 2000, ...(u.protocol === 'https:' ? tls : {}) },
      (resp) => {
        let body = '';
        resp.setEncoding('utf8');
        resp.on('data', (c: string) => (body += c));
        resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', rej);
    req.end();
  });
}
