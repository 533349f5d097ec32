/** Per-key mutual exclusion within one process (one QMP client per VM at a time, no interleaved config writes). */
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
