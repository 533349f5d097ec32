/**
 * fakepve for the Proxmox provider tests: the venv made by
 * scripts/fakepve.sh, started through launch_fakepve.py on 127.0.0.2 with
 * an OS-chosen port and a certificate of its own that the client trusts
 * (TLS verification stays on). A missing fakepve fails the test with how
 * to install it. `control` sends the launcher's fault commands.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../src/testenv';
import { PROXMOX_ANY, ProxmoxProvider, type ProxmoxProviderOptions } from '../../../src/providers/proxmox';

const run = promisify(execFile);
const INSTALL = "bash scripts/fakepve.sh (a venv with pip install 'fakepve[crypto]==0.5.0'; .ci/run does this)";

export interface FakeVmView {
  vmid: number; name: string; node: string; status: string; template: boolean;
  config: Record<string, string>; pending: Record<string, string | null>; snapshots: string[];
  /** Per snapshot: whether it holds the VM's RAM (vmstate). */
  vmstate: Record<string, boolean>;
}

export interface FakePve {
  readonly url: string;
  readonly ca: string;
  readonly user: string;
  readonly password: string;
  readonly tokenId: string;
  readonly tokenSecret: string;
  readonly templateId: number;
  /**
   * A provider using the API token (or the ticket login with `{ tokenId: undefined, username, password }`).
   * It stands for a provider pod whose operator allows everything (`limits: PROXMOX_ANY`, explicitly: the
   * provider's own default allows nothing); pass `limits` to test the operator's lists.
   */
  provider(over?: Partial<ProxmoxProviderOptions>): ProxmoxProvider;
  control<T = unknown>(cmd: Record<string, unknown>): Promise<T>;
  vms(): Promise<FakeVmView[]>;
  stop(): Promise<void>;
}

let python: Promise<string> | undefined;

export function fakepvePython(): Promise<string> {
  python ??= run('bash', [join(REPO_ROOT, 'scripts', 'fakepve.sh')], { cwd: REPO_ROOT, timeout: 10 * 60_000 })
    .then(({ stdout }) => stdout.trim().split('\n').pop() ?? '')
    .catch((e: Error & { stderr?: string }) => {
      throw new Error(`fakepve is not installed and could not be installed; install it with ${INSTALL}: ${e.stderr?.trim() || e.message}`);
    });
  return python;
}

export async function startFakePve(t: { teardown(fn: () => unknown): unknown }): Promise<FakePve> {
  const py = await fakepvePython();
  const dir = await mkdtemp(join(tmpdir(), 'fakepve-'));
  const child = spawn(py, [join(__dirname, 'launch_fakepve.py'), '127.0.0.2', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  const early: string[] = [];
  lines.on('line', (l) => { const w = waiting.shift(); if (w) w(l); else early.push(l); });
  const next = () => new Promise<string>((resolve, reject) => {
    const e = early.shift();
    if (e !== undefined) return resolve(e);
    const timer = setTimeout(() => reject(new Error(`fakepve did not answer in 20 s; install it with ${INSTALL}. stderr: ${stderr}`)), 20_000);
    waiting.push((l) => { clearTimeout(timer); resolve(l); });
    child.once('exit', (code) => reject(new Error(`fakepve exited (${code}); install it with ${INSTALL}. stderr: ${stderr}`)));
  });
  const info = JSON.parse(await next()) as { url: string; ca: string; user: string; password: string; token: string; secret: string; template: number };
  const ca = await readFile(info.ca, 'utf8');
  let queue: Promise<unknown> = Promise.resolve();
  const control = <T>(cmd: Record<string, unknown>): Promise<T> => {
    const p = queue.then(async () => {
      child.stdin.write(JSON.stringify(cmd) + '\n');
      const a = JSON.parse(await next()) as { ok: boolean; result?: T; error?: string };
      if (!a.ok) throw new Error(`fakepve launcher: ${cmd.op}: ${a.error}`);
      return a.result as T;
    });
    queue = p.catch(() => undefined);
    return p;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  return {
    url: info.url, ca, user: info.user, password: info.password, tokenId: info.token, tokenSecret: info.secret, templateId: info.template,
    provider: (over = {}) => new ProxmoxProvider({ url: info.url, ca, tokenId: info.token, tokenSecret: info.secret, limits: PROXMOX_ANY, ...over }),
    control,
    vms: () => control<FakeVmView[]>({ op: 'vms' }),
    stop,
  };
}
