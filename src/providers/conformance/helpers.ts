/**
 * Helpers of the provider conformance suite: task polling, and the minimal
 * test-object shape the suite needs (tap's Test satisfies it, and src/
 * stays free of a dependency on the test runner).
 */
import { ProviderError, type Provider, type ProviderErrorCategory, type TaskRef, type TaskStatus } from '../provider';

/** What the suite uses of a tap Test. */
export interface ConformanceTest {
  // `any`: tap's overloaded, plugin-typed test() is not assignable to a precise signature.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  test(name: string, fn: (t: any) => Promise<void>): PromiseLike<unknown>;
  ok(value: unknown, message: string): unknown;
  equal(found: unknown, wanted: unknown, message: string): unknown;
  same(found: unknown, wanted: unknown, message: string): unknown;
  fail(message: string): unknown;
  comment(...args: unknown[]): unknown;
  teardown(fn: () => unknown): unknown;
}

/**
 * Polls `task` until done. Resolves immediately for a synchronous result
 * (no task); rejects when the task fails or does not finish in time.
 */
export async function awaitTask(provider: Provider, task: TaskRef | undefined, timeoutMs = 10_000, pollMs = 20): Promise<TaskStatus> {
  if (!task || !task.id) return { done: true };
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await provider.taskStatus(task);
    if (s.done) {
      if (s.error) throw new ProviderError('Internal', `task ${task.id} failed: ${s.error}`, 'TaskStatus');
      return s;
    }
    if (Date.now() >= end) throw new ProviderError('Retryable', `task ${task.id} not done after ${timeoutMs} ms`, 'TaskStatus');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The category a promise rejects with (`resolved` when it does not reject; `foreign` for a non-ProviderError). */
export async function outcome(p: Promise<unknown>): Promise<ProviderErrorCategory | 'resolved' | 'foreign'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof ProviderError ? e.category : 'foreign';
  }
}

/** Asserts that `p` rejects with one of `categories`. */
export async function rejectsWith(
  t: ConformanceTest, p: Promise<unknown>, categories: readonly ProviderErrorCategory[], message: string,
): Promise<void> {
  const got = await outcome(p);
  t.ok(categories.includes(got as ProviderErrorCategory), `${message}: rejects with ${categories.join(' or ')} (got ${got})`);
}
