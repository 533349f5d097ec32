/** Status writes and finalizers with optimistic concurrency. */
import type { KubeClient } from './client';
import { ApiError, isConflict } from './errors';
import type { ResourceType } from './resources';

const MAX_ATTEMPTS = 5;

/** Deep equality with JSON semantics (key order and undefined members do not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return (a ?? undefined) === (b ?? undefined);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

const meta = (o: any) => o?.metadata ?? {};

function notFound(rt: ResourceType, o: any): ApiError {
  const md = meta(o);
  return new ApiError(404, 'NotFound', `${rt.plural} "${md.namespace ? `${md.namespace}/` : ''}${md.name}" not found`);
}

/**
 * Applies `mutate` to a copy of `obj` and writes the status subresource. On
 * 409 it re-reads the object and applies `mutate` again (up to 5 times).
 * Nothing is written when `mutate` returns false or leaves the status as it
 * was, so an idle controller makes no writes. Returns the stored object.
 */
export async function updateStatus<T>(client: KubeClient, rt: ResourceType, obj: T, mutate: (fresh: T) => boolean | void): Promise<T> {
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const draft = structuredClone(current);
    if (mutate(draft) === false || jsonEqual((draft as any).status, (current as any).status)) return current;
    try {
      return await client.updateStatus(rt, draft);
    } catch (e) {
      if (!isConflict(e) || attempt >= MAX_ATTEMPTS) throw e;
      const fresh = await client.get<T>(rt, meta(current).namespace, meta(current).name);
      if (!fresh) throw notFound(rt, current);
      current = fresh;
    }
  }
}

export function hasFinalizer(obj: any, f: string): boolean {
  return (meta(obj).finalizers ?? []).includes(f);
}

/**
 * Merge-patches metadata.finalizers with the object's resourceVersion as a
 * precondition (409 when stale), re-reading and retrying on conflict.
 */
async function patchFinalizers<T>(client: KubeClient, rt: ResourceType, obj: T, f: string, add: boolean): Promise<T | undefined> {
  let current: T | undefined = obj;
  for (let attempt = 1; current; attempt++) {
    const has = hasFinalizer(current, f);
    if (has === add) return current;
    const list: string[] = meta(current).finalizers ?? [];
    const next = add ? [...list, f] : list.filter((x) => x !== f);
    const md = meta(current);
    try {
      return await client.patch<T>(rt, md.namespace, md.name, { metadata: { finalizers: next.length ? next : null, resourceVersion: md.resourceVersion } }, { type: 'merge' });
    } catch (e) {
      if ((e as ApiError).code === 404 && !add) return undefined;
      if (!isConflict(e) || attempt >= MAX_ATTEMPTS) throw e;
      current = await client.get<T>(rt, md.namespace, md.name);
    }
  }
  if (add) throw notFound(rt, obj);
  return undefined;
}

export async function addFinalizer<T>(client: KubeClient, rt: ResourceType, obj: T, f: string): Promise<T> {
  return (await patchFinalizers(client, rt, obj, f, true))!;
}

/** Removes the finalizer; undefined when the object is gone (e.g. deleted because it was the last one). */
export function removeFinalizer<T>(client: KubeClient, rt: ResourceType, obj: T, f: string): Promise<T | undefined> {
  return patchFinalizers(client, rt, obj, f, false);
}
