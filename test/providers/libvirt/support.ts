/**
 * Shared set-up of the libvirt provider tests. They need the real tools
 * and a running libvirtd; when those are missing the tests FAIL with the
 * way to get them (never skip).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOW = 'run `bash scripts/hypervisors.sh` as root (installs libvirt, QEMU, qemu-img, xorriso, OVMF and starts virtlogd + libvirtd)';

interface Failer {
  fail(message: string): unknown;
  end(): unknown;
}

function missing(): string | undefined {
  for (const bin of ['/usr/bin/qemu-img', '/usr/bin/xorriso', '/usr/bin/virsh']) {
    if (!existsSync(bin)) return `${bin} is missing`;
  }
  try {
    execFileSync('virsh', ['-c', 'qemu:///system', 'uri'], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    return `libvirtd does not answer on qemu:///system (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
  }
  return undefined;
}

/** Fails the whole test file (and ends it) when the hypervisor tools are not there. */
export function requireHypervisorTools(t: Failer): void {
  const why = missing();
  if (why) {
    t.fail(`${why}: ${HOW}`);
    t.end();
    process.exit(1);
  }
}

export const TEST_URI = 'qemu:///system';
/** The tests' own pool and isolated network (no forward, no IP: nothing leaves the host). */
export const TEST_POOL = 'virtrigaud-test';
export const TEST_NETWORK = 'lab-net';

/** Defines and starts the isolated network the conformance fixtures name (idempotent). */
export function ensureTestNetwork(name = TEST_NETWORK): void {
  const v = (args: string[]) => execFileSync('virsh', ['-q', '-c', TEST_URI, ...args], { stdio: 'pipe', timeout: 30_000 }).toString();
  let state = '';
  try {
    state = v(['net-info', name]);
  } catch {
    // No <forward> and no <ip>: a bare bridge, no dnsmasq, no firewall rules, no routes.
    const bridge = `vr${name.replace(/[^a-z0-9]/gi, '').slice(0, 10)}0`;
    const dir = mkdtempSync(join(tmpdir(), 'vr-net-'));
    writeFileSync(join(dir, 'net.xml'), `<network><name>${name}</name><bridge name='${bridge}' stp='off'/></network>`);
    try {
      v(['net-define', join(dir, 'net.xml')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!/Active:\s+yes/.test(state)) {
    try {
      v(['net-start', name]);
    } catch (e) {
      if (!/already active/.test(String((e as { stderr?: Buffer }).stderr ?? e))) throw e;
    }
  }
}

/** `virsh -q -c qemu:///system ...` output (throws on failure). */
export function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', TEST_URI, ...args], { stdio: 'pipe', timeout: 60_000 }).toString();
}
