/**
 * The size a Clone asks for. CloneRequest.class_json is not the Create
 * class payload ({CPU, MemoryMiB, ...}): it is the VMClass `spec` with the
 * CRD's own keys (`cpu`, `memory` as a quantity such as `4Gi`), or empty to
 * keep the source's size (remote provider protocol, CloneRequest). One
 * parser, so every provider reads the same keys.
 */
import { ProviderError } from './provider';

export interface CloneSize {
  readonly cpu?: number;
  readonly memoryMiB?: number;
}

const BYTES: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes quantity (`512Mi`, `4Gi`, `2G`, a plain byte count) in whole MiB. */
export function quantityMiB(q: string | number, op: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(String(q).trim());
  if (!m) throw new ProviderError('InvalidSpec', `${op}: class_json memory ${JSON.stringify(q)} is not a quantity (such as 4Gi)`, op);
  return Math.floor((Number(m[1]) * BYTES[m[2] ?? '']!) / 1024 ** 2);
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
    ...(memory !== undefined ? { memoryMiB: quantityMiB(memory, op) } : {}),
  };
}
