/**
 * Expectations (controller-runtime / kube-controller-manager style): what a
 * controller has just written about its children and the cache has not
 * shown yet. A reconcile that reads the cache right after its own create,
 * delete or update would otherwise act on a stale view, e.g. replace a
 * second member of a rolling update because the first still looks
 * available. Each expectation holds until the cache shows it, or until it
 * expires (a lost watch event must not wedge the owner forever).
 */

/** `revision`: what the child will be at once the write shows (the owner's bookkeeping; not checked here). */
export type Expectation =
  | { readonly kind: 'create'; readonly name: string; readonly revision?: string }
  | { readonly kind: 'delete'; readonly name: string; readonly uid: string }
  | { readonly kind: 'update'; readonly name: string; readonly uid: string; readonly revision?: string; readonly until: (child: any) => boolean };

interface Held {
  readonly e: Expectation;
  readonly at: number;
}

export class Expectations {
  private readonly byOwner = new Map<string, Map<string, Held>>();

  constructor(private readonly ttlMs = 5 * 60_000, private readonly now: () => number = Date.now) {}

  expect(owner: string, e: Expectation): void {
    let m = this.byOwner.get(owner);
    if (!m) this.byOwner.set(owner, (m = new Map()));
    m.set(e.name, { e, at: this.now() });
  }

  /**
   * The expectations of `owner` the cache does not show yet, by child name;
   * those it shows (or that expired) are dropped. `cached(name)` reads the
   * child from the cache.
   */
  pending(owner: string, cached: (name: string) => any | undefined): Map<string, Expectation> {
    const m = this.byOwner.get(owner);
    const out = new Map<string, Expectation>();
    if (!m) return out;
    for (const [name, h] of m) {
      const child = cached(name);
      const seen =
        h.e.kind === 'create' ? child !== undefined
        : h.e.kind === 'delete' ? !child || child.metadata?.uid !== h.e.uid || !!child.metadata?.deletionTimestamp
        : !child || child.metadata?.uid !== h.e.uid || h.e.until(child);
      if (seen || this.now() - h.at > this.ttlMs) m.delete(name);
      else out.set(name, h.e);
    }
    if (!m.size) this.byOwner.delete(owner);
    return out;
  }

  forget(owner: string): void {
    this.byOwner.delete(owner);
  }
}
