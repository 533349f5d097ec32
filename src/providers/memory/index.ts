/**
 * The in-memory provider and its registration as the in-process
 * implementation `memory`.
 *
 * A Provider object configures it through its endpoint's query string,
 * e.g. `memory://lab?asyncTasks=1&completeAfterMs=200&latencyMs=5&snapshots=0&imageImport=0&linkedClones=0&cloneClass=0&initialPowerState=Off`.
 * It is a test double: the reconciler serves it only when started with
 * --enable-test-providers. With the instance setting `memory.stateDir`,
 * each Provider object keeps its VMs in `<dir>/<namespace>-<name>.json`,
 * so they survive the process (crash-restart tests).
 */
import { join } from 'node:path';
import type { ProviderContext, ProviderRegistry } from '../registry';
import { MemoryProvider, type MemoryProviderOptions } from './provider';

export { Faults, MEMORY_OPS, type Fault, type MemoryOp } from './faults';
export { MEMORY_CAPABILITIES, MemoryProvider, type MemoryEvent, type MemoryProviderOptions } from './provider';
export { MemoryStore, emptyState, type MemoryState, type VMRecord } from './store';
export { ipFor } from './model';
export { provideImage } from './transfer';

export const MEMORY_IMPLEMENTATION = 'memory';

/** The options a Provider object's context selects (see the module comment). */
export function memoryOptionsFromContext(ctx: ProviderContext): MemoryProviderOptions {
  let query = new URLSearchParams();
  try {
    query = new URL(ctx.endpoint).searchParams;
  } catch {
    // Not a URL (e.g. a bare host): no options.
  }
  const num = (k: string) => (query.has(k) ? Number(query.get(k)) : undefined);
  const flag = (k: string) => ['1', 'true', 'yes'].includes((query.get(k) ?? '').toLowerCase());
  const completeAfterMs = num('completeAfterMs');
  const completeAfterPolls = num('completeAfterPolls');
  const asyncTasks = flag('asyncTasks') || completeAfterMs !== undefined || completeAfterPolls !== undefined
    ? (completeAfterMs ?? completeAfterPolls) !== undefined ? { completeAfterMs, completeAfterPolls } : true
    : false;
  const dir = ctx.instance.memory?.stateDir;
  const initial = query.get('initialPowerState');
  return {
    asyncTasks,
    latencyMs: num('latencyMs'),
    credentials: ctx.credentials,
    capabilities: {
      ...(query.get('snapshots') === '0' ? { supportsSnapshots: false, supportsMemorySnapshots: false } : {}),
      ...(query.get('imageImport') === '0' ? { supportsImageImport: false } : {}),
      ...(query.get('linkedClones') === '0' ? { supportsLinkedClones: false } : {}),
    },
    ...(query.get('cloneClass') === '0' ? { ignoreCloneClass: true } : {}),
    ...(initial === 'On' || initial === 'Off' ? { initialPowerState: initial } : {}),
    ...(dir ? { stateFile: join(dir, `${ctx.namespace}-${ctx.name}.json`) } : {}),
  };
}

/** Registers the in-memory provider under the name `memory`. */
export function registerMemoryProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(MEMORY_IMPLEMENTATION, (ctx) => new MemoryProvider(memoryOptionsFromContext(ctx)));
}
