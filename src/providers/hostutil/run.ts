/**
 * Runs a host command (virsh, qemu-img, xorriso, ...) and turns every
 * failure into a ProviderError that carries the command's stderr, so the
 * reason reaches the VM's conditions instead of a bare exit code.
 */
import { spawn } from 'node:child_process';
import { ProviderError, type ProviderErrorCategory } from '../provider';

export interface RunOptions {
  /** Kill the command after this long (default 60 s); a timeout is Retryable. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Written to the command's stdin (then closed). */
  readonly input?: string | Buffer;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Operation name recorded on the error (e.g. `Create`). */
  readonly operation?: string;
  /** Category of a non-zero exit (default Internal); callers refine it from the stderr. */
  readonly classify?: (stderr: string, exitCode: number | null) => ProviderErrorCategory;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** A command that failed: the ProviderError plus what the command said. */
export class CommandError extends ProviderError {
  constructor(
    category: ProviderErrorCategory,
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    operation?: string,
  ) {
    super(category, message, operation);
  }
}

const MAX_OUTPUT = 64 * 1024 * 1024;

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const shown = [cmd, ...args.slice(0, 3)].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let why: 'timeout' | 'aborted' | undefined;
    const kill = (reason: 'timeout' | 'aborted') => {
      why = reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = () => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size <= MAX_OUTPUT) into.push(b);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const done = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      const hint = e.code === 'ENOENT' ? ' (not installed? run `bash scripts/hypervisors.sh` as root)' : '';
      reject(new CommandError('Internal', `${cmd}: ${e.message}${hint}`, shown, null, '', opts.operation));
    });
    child.on('close', (code) => {
      done();
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (why === 'timeout') {
        reject(new CommandError('Retryable', `${shown}: timed out after ${timeoutMs} ms${stderr ? `: ${stderr}` : ''}`, shown, code, stderr, opts.operation));
      } else if (why === 'aborted') {
        reject(new CommandError('Retryable', `${shown}: cancelled`, shown, code, stderr, opts.operation));
      } else if (code !== 0) {
        const category = opts.classify?.(stderr, code) ?? 'Internal';
        reject(new CommandError(category, `${shown}: ${stderr || `exit code ${code}`}`, shown, code, stderr, opts.operation));
      } else {
        resolve({ stdout, stderr });
      }
    });
    // A command that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
