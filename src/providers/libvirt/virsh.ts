/**
 * virsh against one libvirt URI, with libvirt's error messages mapped to
 * provider error categories. Every call is a short-lived virsh process:
 * no native bindings, and the same code drives local and remote hosts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError, type ProviderErrorCategory } from '../provider';
import { CommandError, run, type RunOptions } from '../hostutil';

const RULES: [RegExp, ProviderErrorCategory][] = [
  [/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .*(mismatch|changed|unknown|not found)/i, 'Unauthenticated'],
  [/Permission denied \(|authentication failed|Authentication required|access denied|auth.*(refused|failed)/i, 'Unauthenticated'],
  [/Domain not found|failed to get domain|no domain with matching|Storage volume not found|no storage vol|snapshot not found|no domain snapshot with matching|Storage pool not found|no storage pool with matching|Network not found|failed to get vol|failed to get pool/i, 'NotFound'],
  [/Failed to connect|Connection refused|Cannot recv data|Cannot write data|Connection reset|Could not resolve|No route to host|timed out|End of file while reading data|Unable to connect|Broken pipe|is in use by another|cannot acquire state change lock|Timed out during operation/i, 'Retryable'],
  [/XML error|XML document failed to validate|unsupported configuration|invalid argument|Invalid value|expected|malformed|parse|does not support|unknown OS type|No such file|Cannot access storage file|Unable to find a satisfying firmware|already exists/i, 'InvalidSpec'],
];

export function classifyLibvirtError(stderr: string): ProviderErrorCategory {
  for (const [re, category] of RULES) if (re.test(stderr)) return category;
  return 'Internal';
}

export type VirshOptions = Pick<RunOptions, 'timeoutMs' | 'signal' | 'operation'>;

export class Virsh {
  constructor(
    /** The URI virsh connects to (may carry our keyfile/command params for ssh). */
    readonly uri: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Runs `virsh -q -c <uri> <args>`; resolves with stdout. */
  async run(args: readonly string[], o: VirshOptions = {}): Promise<string> {
    try {
      const { stdout } = await run('virsh', ['-q', '-c', this.uri, ...args], {
        timeoutMs: 120_000, ...o, env: this.env, classify: (e) => classifyLibvirtError(e),
      });
      return stdout;
    } catch (e) {
      throw hostKeyError(e, this.uri) ?? e;
    }
  }

  /**
   * Runs virsh with `doc` in a temporary file substituted for the `@file`
   * argument (Node's child pipes are sockets, which virsh cannot open as
   * /dev/stdin).
   */
  async runWithFile(args: readonly string[], doc: string, o: VirshOptions = {}): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-virsh-'));
    try {
      const file = join(dir, 'doc.xml');
      await writeFile(file, doc, { mode: 0o600 });
      return await this.run(args.map((a) => (a === '@file' ? file : a)), o);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Like run, but resolves undefined instead of rejecting with NotFound. */
  async maybe(args: readonly string[], o: VirshOptions = {}): Promise<string | undefined> {
    try {
      return await this.run(args, o);
    } catch (e) {
      if ((e as { category?: string }).category === 'NotFound') return undefined;
      throw e;
    }
  }
}

/** Parses `virsh` key/value output (`dominfo`, `pool-info`, `vol-info`). */
export function keyValues(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return kv;
}

/** ssh's host-key banner, boiled down to what the user must fix. */
function hostKeyError(e: unknown, uri: string): ProviderError | undefined {
  if (!(e instanceof CommandError) || !/Host key verification failed/.test(e.stderr)) return undefined;
  const fp = /(SHA256:[A-Za-z0-9+/=]+)/.exec(e.stderr)?.[1];
  const host = (() => { try { return new URL(uri).host; } catch { return uri; } })();
  const why = /HAS CHANGED|has changed/.test(e.stderr) ? 'the key it presented does not match' : 'its key is not in';
  return new ProviderError('Unauthenticated',
    `ssh host key verification failed for ${host}: ${why} \`knownHosts\` of the credentials Secret${fp ? ` (host key ${fp})` : ''}`, e.operation);
}
