/**
 * Shared set-up of the Firecracker provider tests: the real binary
 * (FIRECRACKER_BIN, default ../shared/bin/firecracker beside the repo;
 * a missing one FAILS the test with how to provide it), the kernel and
 * rootfs template (scripts/firecracker-fixtures.sh), a network namespace
 * per test for the taps, and a teardown that kills what a test started.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, promises as fs, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { INSTALL_HINT, Layout, livePid } from '../../../src/providers/firecracker';

const REPO = resolve(__dirname, '../../..');

/** The binary the tests use; throws (failing the test) when it is not there. */
export function firecrackerBin(): string {
  const bin = resolve(REPO, process.env.FIRECRACKER_BIN ?? '../shared/bin/firecracker');
  try {
    accessSync(bin, constants.X_OK);
    if (!statSync(bin).isFile()) throw new Error('not a file');
  } catch {
    throw new Error(`Firecracker binary not found at ${bin}: ${INSTALL_HINT} (e.g. FIRECRACKER_BIN=/path/to/firecracker npx tap test/providers/firecracker/...)`);
  }
  return bin;
}

/** The template directory (`vmlinux`, `rootfs.ext4`), built by the fixtures script when absent. */
export function templateDir(): string {
  const dir = execFileSync('bash', [join(REPO, 'scripts/firecracker-fixtures.sh')], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return join(resolve(REPO, dir), 'debian-cloud');
}

/** A fresh, short state directory whose `images/<name>` are the test template. */
export async function stateDir(prefix: string, templates: readonly string[] = ['ubuntu-22.04']): Promise<string> {
  const tpl = templateDir();
  const dir = mkdtempSync(join(tmpdir(), `vf-${prefix}-`));
  await fs.mkdir(join(dir, 'images'), { recursive: true });
  for (const name of templates) await fs.symlink(tpl, join(dir, 'images', name));
  return dir;
}

/** A network namespace for one test (removed by {@link removeNetns}). */
export function makeNetns(): string {
  const name = `vrfc-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}

export function removeNetns(name: string): void {
  execFileSync('ip', ['netns', 'del', name]);
}

/** Interface names inside a network namespace. */
export function linksIn(netns: string): string[] {
  const out = execFileSync('ip', ['-n', netns, '-o', 'link', 'show'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

/** Kills every Firecracker started under `dir` and removes it. */
export async function destroyStateDir(dir: string): Promise<void> {
  const layout = new Layout(dir);
  for (const id of await layout.ids().catch(() => [])) {
    const pid = await livePid(layout, id);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
}

/** Pids of live firecracker processes whose command line mentions `dir`. */
export async function firecrackerPidsUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    if (cmd.includes('firecracker') && cmd.includes(dir) && !/\) [ZX] /.test(stat)) out.push(Number(p));
  }
  return out;
}

/** A wrapper "binary" that runs the real one with a private, empty /dev (no /dev/kvm). */
export async function withoutKvm(dir: string, bin: string): Promise<string> {
  const path = join(dir, 'firecracker-no-kvm');
  await fs.writeFile(path, `#!/bin/sh\nexec unshare -m sh -c 'mount -t tmpfs -o size=1m none /dev && exec "$0" "$@"' ${bin} "$@"\n`, { mode: 0o755 });
  return path;
}

/** A script that answers --version like an old Firecracker. */
export async function fakeOld(dir: string): Promise<string> {
  const path = join(dir, 'firecracker-old');
  await fs.writeFile(path, '#!/bin/sh\necho "Firecracker v1.4.1"\n', { mode: 0o755 });
  return path;
}
