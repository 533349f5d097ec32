/** This machine's KVM facts, read independently of src/providers/hostutil/accel.ts, for tests that check its verdict. */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export interface HostKvmFacts {
  readonly pvm: boolean;
  readonly flag: boolean;
  readonly rw: boolean;
  /** What the probe must decide from these facts. */
  readonly want: 'kvm' | 'tcg';
}

export function hostKvmFacts(): HostKvmFacts {
  const pvm = existsSync('/sys/module/kvm_pvm');
  const flag = /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  let rw = false;
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    rw = true;
  } catch {
    // absent or not ours
  }
  return { pvm, flag, rw, want: !pvm && flag && rw ? 'kvm' : 'tcg' };
}
