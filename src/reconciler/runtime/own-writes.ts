/**
 * A controller's own last status write, standing in for the cache until
 * the cache has caught up. Right after a write the informer may still hand
 * out the object as it was before; acting on that (or writing with its
 * resourceVersion, a 409 whose re-read needs `get`) would be acting on
 * what this controller already changed. While the cached object is one
 * known to be older than our last write, the written status and
 * resourceVersion are used instead.
 */
import type { KubeClient } from './client';
import type { ResourceType } from './resources';
import { writeStatus, type StatusDraft, type StatusObject, type WriteStatusOptions } from './status';

interface Written<S> {
  readonly uid: string;
  readonly resourceVersion: string;
  readonly older: Set<string>;
  readonly status: S;
}

export class OwnWrites<S extends object> {
  private readonly written = new Map<string, Written<S>>();

  /** Puts our last write into `obj` when the cache shows an older version of it; forgets it once the cache moved past. */
  apply(key: string, obj: StatusObject<S>): void {
    const w = this.written.get(key);
    if (!w) return;
    if (w.uid === obj.metadata?.uid && w.older.has(obj.metadata?.resourceVersion ?? '')) {
      obj.status = structuredClone(w.status);
      obj.metadata = { ...obj.metadata, resourceVersion: w.resourceVersion };
    } else {
      this.written.delete(key);
    }
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** writeStatus, remembering what it wrote (and that the version it replaced is older). */
  async write(client: KubeClient, kind: ResourceType, key: string, obj: StatusObject<S>, draft: StatusDraft<S>, opts: WriteStatusOptions = {}): Promise<boolean> {
    const before = obj.metadata?.resourceVersion ?? '';
    const ok = await writeStatus(client, kind, obj, draft, opts);
    const after = obj.metadata?.resourceVersion ?? '';
    if (after !== before) {
      const w = this.written.get(key);
      const older = w && w.uid === obj.metadata?.uid ? w.older : new Set<string>();
      older.add(before);
      this.written.set(key, { uid: obj.metadata?.uid ?? '', resourceVersion: after, older, status: structuredClone(obj.status ?? ({} as S)) });
    }
    return ok;
  }
}
