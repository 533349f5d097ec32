/**
 * Building decoded values safely: every mapping key becomes an own data
 * property (`__proto__` included; no prototype is ever changed), and values
 * reached through aliases are copied with a node budget.
 */

import { DecodeFailure } from './types';

const hasOwn = Object.prototype.hasOwnProperty;

/** True when `key` is already an own property of `obj`. Values are never undefined. */
export function hasKey(obj: Record<string, unknown>, key: string): boolean {
  return obj[key] !== undefined && hasOwn.call(obj, key);
}

/** obj[key] = value as an own, enumerable data property. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Number of nodes (collections and scalars) in a decoded value and its height. */
export interface Measure {
  nodes: number;
  height: number;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep copy of a decoded value (plain objects, arrays, primitives) without
 * recursion. `budget.left` is decremented per node; running out throws an
 * alias-limit failure.
 */
export function cloneCounted(v: unknown, budget: { left: number }, what: string): unknown {
  if (typeof v !== 'object' || v === null) {
    if (--budget.left < 0) throw aliasLimit(what);
    return v;
  }
  const rootOut: unknown = Array.isArray(v) ? new Array(v.length) : {};
  const stack: Array<[unknown, unknown]> = [[v, rootOut]];
  if (--budget.left < 0) throw aliasLimit(what);
  while (stack.length > 0) {
    const [src, dst] = stack.pop()!;
    if (Array.isArray(src)) {
      const out = dst as unknown[];
      for (let i = 0; i < src.length; i++) {
        const e = src[i];
        if (--budget.left < 0) throw aliasLimit(what);
        if (typeof e === 'object' && e !== null) {
          const c: unknown = Array.isArray(e) ? new Array(e.length) : {};
          out[i] = c;
          stack.push([e, c]);
        } else out[i] = e;
      }
    } else {
      const s = src as Record<string, unknown>;
      const out = dst as Record<string, unknown>;
      for (const k of Object.keys(s)) {
        const e = s[k];
        if (--budget.left < 0) throw aliasLimit(what);
        if (typeof e === 'object' && e !== null) {
          const c: unknown = Array.isArray(e) ? new Array(e.length) : {};
          setOwn(out, k, c);
          stack.push([e, c]);
        } else setOwn(out, k, e);
      }
    }
  }
  return rootOut;
}

function aliasLimit(what: string): DecodeFailure {
  return new DecodeFailure('alias-limit', `alias expansion exceeds the limit (${what})`);
}

/**
 * `new PlainObject()` is an ordinary object (its prototype is
 * Object.prototype, its constructor Object) that V8 allocates with in-object
 * slack for the properties added right after construction, unlike `{}`,
 * which starts with room for four and then grows a separate property store.
 * The fast path builds manifests with it.
 */
export const PlainObject = function PlainObject(): void {
  // no fields: properties are added by the decoder
} as unknown as { new (): Record<string, unknown> };
(PlainObject as unknown as { prototype: object }).prototype = Object.prototype;
