/**
 * vcsim for the vSphere provider tests: built and cached by
 * scripts/vcsim-bin.sh, started on 127.0.0.1 with a random port, a user
 * name and password, and TLS with a certificate from a throw-away CA (so
 * verification is really exercised); stopped in teardown. A vcsim that
 * cannot be built or started fails the test with the reason.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../src/testenv';
import { createCa, issueCert } from '../../../src/testenv/pki';
import { VimClient, moRef, typed, waitTask } from '../../../src/providers/vsphere/soap';
import { VsphereProvider, type VsphereProviderOptions } from '../../../src/providers/vsphere';

const run = promisify(execFile);

export interface Vcsim {
  /** `https://127.0.0.1:<port>/sdk` */
  readonly endpoint: string;
  readonly username: string;
  readonly password: string;
  /** PEM of the CA that signed vcsim's certificate. */
  readonly ca: string;
  /** PEM of an unrelated CA (for the TLS failure test). */
  readonly otherCa: string;
  provider(over?: Partial<VsphereProviderOptions>): VsphereProvider;
  /** Plays VMware Tools reporting the guest's address (vcsim's `SET.guest.ipAddress` hook). */
  reportGuestIp(vmId: string, ip: string): Promise<void>;
  stop(): Promise<void>;
}

let binary: Promise<string> | undefined;

/** The vcsim binary (built once per process; the script caches it across runs). */
export function vcsimBinary(): Promise<string> {
  binary ??= run('bash', [join(REPO_ROOT, 'scripts', 'vcsim-bin.sh')], { cwd: REPO_ROOT, maxBuffer: 16 << 20, timeout: 15 * 60_000 })
    .then(({ stdout }) => stdout.trim().split('\n').pop() ?? '')
    .catch((e: Error & { stderr?: string }) => {
      throw new Error(`vcsim could not be built by scripts/vcsim-bin.sh (needs Go >= 1.26 and the Go module proxy): ${e.stderr?.trim() || e.message}`);
    });
  return binary;
}

export async function startVcsim(t: { teardown(fn: () => unknown): unknown }, opts: { seed?: boolean } = {}): Promise<Vcsim> {
  const bin = await vcsimBinary();
  const dir = await mkdtemp(join(tmpdir(), 'vcsim-'));
  const ca = await createCa(join(dir, 'ca'), 'vcsim test CA');
  const other = await createCa(join(dir, 'other'), 'unrelated CA');
  const leaf = await issueCert(ca, join(dir, 'ca'), 'vcsim', { commonName: '127.0.0.1', usage: 'server', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const username = 'administrator@vsphere.local';
  const password = `Vcsim-${Math.random().toString(36).slice(2)}!`;
  const args = ['-l', '127.0.0.1:0', '-username', username, '-password', password, '-tlscert', leaf.certPath, '-tlskey', leaf.keyPath, `-seed=${opts.seed ?? true}`];
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  const url = await readyUrl(child);
  const endpoint = url.replace(/\/+$/, '');
  const [caPem, otherPem] = await Promise.all([readFile(ca.certPath, 'utf8'), readFile(other.certPath, 'utf8')]);
  const base: VsphereProviderOptions = { endpoint, username, password, ca: caPem };
  const admin = new VimClient({ url: endpoint, username, password, ca: caPem });
  t.teardown(() => admin.logout().finally(() => admin.close()));
  return {
    endpoint, username, password, ca: caPem, otherCa: otherPem, stop,
    provider: (over = {}) => new VsphereProvider({ ...base, ...over }),
    reportGuestIp: async (vmId, ip) => {
      const option = typed('OptionValue', { key: 'SET.guest.ipAddress', value: { '@_xsi:type': 'xsd:string', '#text': ip } });
      const task = moRef(await admin.call('ReconfigVM_Task', { type: 'VirtualMachine', value: vmId }, { spec: { extraConfig: option } }));
      if (task) await waitTask(admin, task, 'ReportGuestIp');
    },
  };
}

function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`vcsim did not start within 30 s\n${err}`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /VCSIM_URL=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vcsim exited with ${code} before it was ready\n${err}`));
    });
  });
}
