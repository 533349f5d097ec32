/**
 * The size a Clone asks for. CloneRequest.class_json is not the Create
 * class payload ({CPU, MemoryMiB, ...}): it is the VMClass `spec` with the
 * CRD's own keys (`cpu`, `memory` as a quantity such as `4Gi`), or empty to
 * keep the source's size (remote provider protocol, CloneRequest). One
 * parser, so every provider reads the same keys.
 */
import { quantityToMiB } from '../reconciler/vm/quantity';
import { ProviderError } from './provider';

export interface CloneSize {
  readonly cpu?: number;
  readonly memoryMiB?: number;
}

/** A Kubernetes quantity in whole MiB (the VM reconciler's conversion), a bad one an InvalidSpec of `op`. */
function memoryMiB(q: string | number, op: string): number {
  try {
    return quantityToMiB(q);
  } catch {
    throw new ProviderError('InvalidSpec', `${op}: class_json memory ${JSON.stringify(q)} is not a quantity (such as 4Gi)`, op);
  }
}

/** CPU and memory a clone's `class_json` names; a field it leaves out keeps the source's. */
export function cloneClassSize(json: string, op = 'Clone'): CloneSize {
  if (!json.trim()) return {};
  let spec: unknown;
  try {
    spec = JSON.parse(json);
  } catch (e) {
    throw new ProviderError('InvalidSpec', `${op}: class_json is not JSON: ${(e as Error).message}`, op);
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new ProviderError('InvalidSpec', `${op}: class_json must be a VMClass spec (an object)`, op);
  const { cpu, memory } = spec as { cpu?: unknown; memory?: unknown };
  if (cpu !== undefined && (typeof cpu !== 'number' || !Number.isInteger(cpu))) throw new ProviderError('InvalidSpec', `${op}: class_json cpu must be an integer (got ${JSON.stringify(cpu)})`, op);
  if (memory !== undefined && typeof memory !== 'string' && typeof memory !== 'number') throw new ProviderError('InvalidSpec', `${op}: class_json memory must be a quantity (got ${JSON.stringify(memory)})`, op);
  return {
    ...(cpu !== undefined ? { cpu } : {}),
    ...(memory !== undefined ? { memoryMiB: memoryMiB(memory, op) } : {}),
  };
}
