/**
 * Per-key mutual exclusion within one process: one QMP client per VM at a
 * time, no interleaved config writes, one build per VM name
 * (`#names`, held only while a VM directory is assembled) and
 * one download per image ({@link imageLock}: images are fetched before the
 * names lock is taken, so a slow image stalls only the VMs waiting for it).
 */
export class Locks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

const shared = new Map<string, Locks>();

/** One set of locks per state directory in this process: provider instances on one directory (a rebuilt connection, a test's own instance) exclude each other. */
export function locksFor(stateDir: string): Locks {
  let l = shared.get(stateDir);
  if (!l) shared.set(stateDir, (l = new Locks()));
  return l;
}

/** The lock of one image in the URL cache (its cache key). */
export function imageLock(cacheKey: string): string {
  return `#image:${cacheKey}`;
}
