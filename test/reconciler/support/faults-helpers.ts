/** Shared bits of the reconciler fault tests (test/reconciler/faults). */
import { Faults, MemoryProvider, MemoryStore, type MemoryOp, type MemoryProviderOptions } from '../../../src/providers/memory';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, type OperatorEnv } from './env';
import { eventually as poll } from '../../support/eventually';

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value; the last error or value is in the failure message. */
export const eventually = <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<T> => poll(what, fn, timeoutMs, intervalMs);

/** Converged as the reconciler defines it: Running, Ready, an id, no task, the current generation observed. */
export function isConverged(vm: any): boolean {
  return (
    vm?.status?.phase === 'Running' &&
    !!vm.status.id &&
    condition(vm, 'Ready')?.status === 'True' &&
    !vm.status.lastTaskRef &&
    vm.status.observedGeneration === vm.metadata?.generation
  );
}

export async function listVMs(env: OperatorEnv): Promise<any[]> {
  return (await env.admin.list(Kinds.VirtualMachine, env.ns)).items;
}

/** Waits until every VirtualMachine in the namespace (at least `count`) is converged; returns them. */
export async function waitAllConverged(env: OperatorEnv, count: number, timeoutMs = 60_000): Promise<any[]> {
  let vms: any[] = [];
  try {
    await eventually(`${count} VMs converged`, async () => {
      vms = await listVMs(env);
      return vms.length >= count && vms.every(isConverged);
    }, timeoutMs, 200);
  } catch (e) {
    const stuck = vms.filter((v) => !isConverged(v)).map((v) => ({ name: v.metadata.name, gen: v.metadata.generation, status: v.status }));
    throw new Error(`${(e as Error).message}\nnot converged (${stuck.length}/${vms.length}): ${JSON.stringify(stuck.slice(0, 3), null, 1).slice(0, 4000)}`);
  }
  return vms;
}

/** Deletes every VirtualMachine of the namespace and waits until the finalizers released them all. */
export async function deleteAllAndWait(env: OperatorEnv, timeoutMs = 60_000): Promise<void> {
  for (const vm of await listVMs(env)) await env.admin.delete(Kinds.VirtualMachine, env.ns, vm.metadata.name).catch(() => undefined);
  await eventually('all VMs released', async () => (await listVMs(env)).length === 0, timeoutMs, 200);
}

export async function eventsFor(env: OperatorEnv, name: string): Promise<{ reason: string; type: string; message: string; source?: string; host?: string }[]> {
  const list = await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e: any) => ({ reason: e.reason, type: e.type, message: e.message, source: e.source?.component ?? e.reportingComponent, host: e.source?.host ?? e.reportingInstance }));
}

/** JSON log lines at level error (unparsable lines are ignored: they are not the operator's). */
export function errorLines(logs: readonly string[]): string[] {
  return logs.filter((l) => {
    try {
      return JSON.parse(l).level === 'error';
    } catch {
      return false;
    }
  });
}

/** Names that occur more than once. */
export function duplicates(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return [...dup].sort();
}

/**
 * A registry whose `memory` implementation shares one store across every
 * instance it builds (connections are rebuilt when a Provider changes), so
 * calls can be counted over all of them.
 */
export function memoryRegistry(opts: Omit<MemoryProviderOptions, 'store' | 'credentials'> & { store?: MemoryStore } = {}) {
  const store = opts.store ?? new MemoryStore();
  const instances: MemoryProvider[] = [];
  // One set of faults for all instances: a rebuilt connection must not drop the test's faults.
  const faults = new Faults();
  const registry = new ProviderRegistry().register('memory', (ctx) => {
    const p = new MemoryProvider({ ...opts, store, credentials: ctx.credentials });
    (p as { faults: Faults }).faults = faults;
    instances.push(p);
    return p;
  });
  return {
    registry,
    store,
    instances,
    faults,
    /** The instance the operator uses now. */
    latest: (): MemoryProvider => {
      const p = instances[instances.length - 1];
      if (!p) throw new Error('the operator has not connected to the provider yet');
      return p;
    },
    calls: (op: MemoryOp): number => instances.reduce((n, p) => n + p.calls[op], 0),
    /** Successful Create calls per VM name. */
    createsByName: (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const p of instances) for (const e of p.events) if (e.op === 'Create' && e.outcome === 'ok' && e.target) m.set(e.target, (m.get(e.target) ?? 0) + 1);
      return m;
    },
  };
}

export type MemoryRegistry = ReturnType<typeof memoryRegistry>;

/** Names created more than once, from {@link MemoryRegistry.createsByName} maps (several operators). */
export function createdTwice(...maps: Map<string, number>[]): string[] {
  const total = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) total.set(k, (total.get(k) ?? 0) + v);
  return [...total].filter(([, v]) => v > 1).map(([k, v]) => `${k}×${v}`);
}

/** Summed samples of a counter in the Prometheus text, filtered by a label substring (e.g. `code="409"`). */
export function counterValue(metricsText: string, name: string, labelPart = ''): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelPart && !line.includes(labelPart)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}
