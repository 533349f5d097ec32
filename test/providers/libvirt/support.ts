/**
 * Shared set-up of the libvirt provider tests. They need the real tools
 * and a running libvirtd; when those are missing the tests FAIL with the
 * way to get them (never skip).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
