/** The VirtualMachine's status draft, and how provider data lands in it. */
import type { VirtualMachine, VirtualMachineStatus } from '../../generated/virtual-machine';
import { StatusDraft as Draft, type ConditionValue } from '../runtime';

export type ConditionType = 'Ready' | 'Provisioning' | 'Reconfiguring' | 'Unsupported';

/** The shared draft (src/reconciler/runtime/status.ts) with the VirtualMachine's condition types. */
export class StatusDraft extends Draft<VirtualMachineStatus> {
  constructor(readonly vm: VirtualMachine) {
    super(vm);
  }

  get id(): string | undefined {
    return this.status.id || undefined;
  }

  override condition(type: ConditionType, value: ConditionValue, reason: string, message: string): void {
    super.condition(type, value, reason, message);
  }

  override conditionChanges(type: ConditionType, value: ConditionValue, reason: string): boolean {
    return super.conditionChanges(type, value, reason);
  }
}

/** `status.provider` is map<string,string>: Describe's values stringified (like Go's %v). */
export function stringifyProviderRaw(raw: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === '__proto__') continue;
    out[k] = typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}
