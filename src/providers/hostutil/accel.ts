/**
 * Which accelerator QEMU may use on this host: KVM only when the CPU has
 * hardware virtualization (vmx or svm), /dev/kvm exists and this process can
 * open it read-write, and the host's KVM is not PVM (the `kvm_pvm` module:
 * a paravirtualized KVM for hosts without vmx/svm, under which standard
 * guests hang). Anything else is TCG, with the reason. Shared by the QEMU
 * and libvirt providers; the paths are options so tests can drive every
 * branch with fixture files.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Accel = 'kvm' | 'tcg';

/** Where the probe looks (defaults: the real host files). */
export interface AccelProbePaths {
  /** @default /proc/cpuinfo */
  readonly cpuinfo?: string;
  /** @default /dev/kvm */
  readonly kvmDevice?: string;
  /** Loaded kernel modules; `<dir>/kvm_pvm` present means the KVM is PVM. @default /sys/module */
  readonly sysModuleDir?: string;
}

export interface AccelDetection {
  readonly accel: Accel;
  /** Why: every check that failed (TCG), or what made KVM usable. */
  readonly reason: string;
}

export const PVM_REASON = '/dev/kvm is PVM (kvm_pvm), which hangs standard guests';

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Probes the host (synchronously: a few small reads and one open). */
export function detectAccel(paths: AccelProbePaths = {}): AccelDetection {
  const cpuinfo = paths.cpuinfo ?? '/proc/cpuinfo';
  const kvm = paths.kvmDevice ?? '/dev/kvm';
  const modules = paths.sysModuleDir ?? '/sys/module';
  const problems: string[] = [];
  // PVM first: it is the case where /dev/kvm exists and opens, and a guest still never runs.
  if (existsSync(join(modules, 'kvm_pvm'))) problems.push(PVM_REASON);
  let flag: string | undefined;
  try {
    flag = /^flags\s*:.*\b(vmx|svm)\b/m.exec(readFileSync(cpuinfo, 'utf8'))?.[1];
    if (!flag) problems.push('no vmx/svm CPU flag');
  } catch (e) {
    problems.push(`cannot read ${cpuinfo}: ${errCode(e)}`);
  }
  if (!existsSync(kvm)) {
    problems.push(`${kvm} does not exist`);
  } else {
    try {
      closeSync(openSync(kvm, 'r+'));
    } catch (e) {
      problems.push(`${kvm} not accessible: ${errCode(e)}`);
    }
  }
  if (problems.length) return { accel: 'tcg', reason: problems.join('; ') };
  return { accel: 'kvm', reason: `${flag} CPU flag and ${kvm} opened read-write` };
}
