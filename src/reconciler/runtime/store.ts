/** Keyed object store with secondary indexes, used by the informer. */
import { objectKey } from './resources';

export class Store<T> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, { fn: (obj: T) => string[]; byValue: Map<string, Set<string>> }>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Inserts or replaces; returns the previous object. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  addIndex(name: string, fn: (obj: T) => string[]): void {
    if (this.indexes.has(name)) throw new Error(`index ${name} already exists`);
    const idx = { fn, byValue: new Map<string, Set<string>>() };
    this.indexes.set(name, idx);
    for (const [key, obj] of this.items) this.indexOne(idx, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`no index named ${name}`);
    return [...(idx.byValue.get(value) ?? [])].map((k) => this.items.get(k)!).filter((o) => o !== undefined);
  }

  private index(key: string, obj: T): void {
    for (const idx of this.indexes.values()) this.indexOne(idx, key, obj);
  }

  private indexOne(idx: { fn: (obj: T) => string[]; byValue: Map<string, Set<string>> }, key: string, obj: T): void {
    for (const v of idx.fn(obj)) {
      let s = idx.byValue.get(v);
      if (!s) idx.byValue.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const idx of this.indexes.values()) {
      for (const v of idx.fn(obj)) {
        const s = idx.byValue.get(v);
        s?.delete(key);
        if (s && !s.size) idx.byValue.delete(v);
      }
    }
  }
}
