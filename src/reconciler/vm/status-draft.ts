/**
 * A working copy of a VirtualMachine's status that a reconcile edits and
 * then writes once, and only when it differs from what is stored: an idle
 * reconciler makes no API writes.
 */
import { isDeepStrictEqual } from 'node:util';
import type { VirtualMachine, VirtualMachineStatus } from '../../generated/virtual-machine';
import { getCondition, setCondition, type Condition } from '../runtime';

export type ConditionType = 'Ready' | 'Provisioning' | 'Reconfiguring';

export class StatusDraft {
  status: VirtualMachineStatus;

  constructor(readonly vm: VirtualMachine) {
    this.status = structuredClone(vm.status ?? {});
  }

  get id(): string | undefined {
    return this.status.id || undefined;
  }

  condition(type: ConditionType, status: boolean, reason: string, message: string): void {
    this.status.conditions = setCondition(this.status.conditions as Condition[] | undefined, {
      type,
      status: status ? 'True' : 'False',
      reason,
      message,
      observedGeneration: this.vm.metadata?.generation,
    });
  }

  /** True when condition `type` changes status or reason with this call (events fire on transitions only). */
  conditionChanges(type: ConditionType, status: boolean, reason: string): boolean {
    const c = getCondition(this.status.conditions as Condition[] | undefined, type);
    return !c || c.status !== (status ? 'True' : 'False') || c.reason !== reason;
  }

  /** Drops optional fields set to undefined so they compare equal to absent ones. */
  normalized(): VirtualMachineStatus {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.status)) if (v !== undefined && v !== '') out[k] = v;
    return out as VirtualMachineStatus;
  }

  changed(): boolean {
    return !isDeepStrictEqual(this.normalized(), this.vm.status ?? {});
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
