/**
 * Fault injection for the in-memory provider: make the next N calls (or
 * every call) of an operation fail, hang until their deadline, end their
 * task in failure, or make guestExec return a non-zero exit code.
 */
import { ProviderError } from '../provider';

/** Operation names: the wire RPC names, plus GuestExec (in-process only). */
export const MEMORY_OPS = [
  'Validate', 'Create', 'Delete', 'Power', 'Reconfigure', 'HardwareUpgrade', 'Describe', 'TaskStatus',
  'SnapshotCreate', 'SnapshotDelete', 'SnapshotRevert', 'Clone', 'ImagePrepare', 'GetCapabilities',
  'ExportDisk', 'ImportDisk', 'GetDiskInfo', 'ListVMs', 'GuestExec',
] as const;
export type MemoryOp = (typeof MEMORY_OPS)[number];

/** A ProviderError to throw, any other Error, or `timeout`: hang until the call's deadline. */
export type Fault = ProviderError | Error | 'timeout';

interface Rule<T> {
  value: T;
  /** Remaining uses; Infinity for failAlways. */
  remaining: number;
}

export class Faults {
  private readonly calls = new Map<MemoryOp, Rule<Fault>[]>();
  private readonly tasks = new Map<MemoryOp, Rule<string>[]>();
  private readonly exec: Rule<{ exitCode: number; output: string }>[] = [];

  /** The next `count` calls of `op` fail with `err`. */
  failNext(op: MemoryOp, err: Fault, count = 1): this {
    return this.push(this.calls, op, err, count);
  }

  /** Every call of `op` fails with `err` until {@link clear}. */
  failAlways(op: MemoryOp, err: Fault): this {
    return this.push(this.calls, op, err, Infinity);
  }

  /**
   * The next `count` calls of `op` succeed but return a task that ends with
   * `message` as its error; the operation has no effect.
   */
  failTask(op: MemoryOp, message: string, count = 1): this {
    return this.push(this.tasks, op, message, count);
  }

  /** The next `count` guestExec calls return this result. */
  execResult(result: { exitCode: number; output?: string }, count = 1): this {
    this.exec.push({ value: { exitCode: result.exitCode, output: result.output ?? '' }, remaining: count });
    return this;
  }

  clear(): void {
    this.calls.clear();
    this.tasks.clear();
    this.exec.length = 0;
  }

  /** Consumes and returns the fault for this call of `op`, if any. */
  takeCall(op: MemoryOp): Fault | undefined {
    return take(this.calls.get(op));
  }

  /** The task failure the next call of `op` would get, without consuming it. */
  peekTask(op: MemoryOp): string | undefined {
    return this.tasks.get(op)?.[0]?.value;
  }

  takeTask(op: MemoryOp): string | undefined {
    return take(this.tasks.get(op));
  }

  takeExec(): { exitCode: number; output: string } | undefined {
    return take(this.exec);
  }

  private push<T>(m: Map<MemoryOp, Rule<T>[]>, op: MemoryOp, value: T, count: number): this {
    if (!(count > 0)) throw new RangeError('count must be positive');
    const list = m.get(op) ?? [];
    list.push({ value, remaining: count });
    m.set(op, list);
    return this;
  }
}

function take<T>(list: Rule<T>[] | undefined): T | undefined {
  if (!list?.length) return undefined;
  const rule = list[0]!;
  rule.remaining -= 1;
  if (rule.remaining <= 0) list.shift();
  return rule.value;
}
