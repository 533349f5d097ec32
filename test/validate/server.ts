/**
 * The real API server's verdict on an object, for differential tests:
 * server-side dry-run create (or, for updates, a stored old object and a
 * dry-run replace), reduced to accept/reject and the set of field paths.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { rawRequest } from '../../src/testenv';
import { ALL_KINDS } from '../../src/api/v1beta1';
import type { FieldError } from '../../src/validate/errors';

export interface Verdict {
  readonly valid: boolean;
  /** Field paths of the causes; '' for the API server's `<nil>`. */
  readonly fields: string[];
  readonly messages: string[];
  readonly raw?: string;
}

const plural = new Map(ALL_KINDS.map((k) => [k.kind, k.plural]));

function resourcePath(obj: Record<string, unknown>, namespace: string, name?: string): string {
  const kind = String(obj.kind);
  const p = plural.get(kind) ?? `${kind.toLowerCase()}s`;
  return `/apis/${obj.apiVersion}/namespaces/${namespace}/${p}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

function parse(status: number, text: string): Verdict {
  if (status >= 200 && status < 300) return { valid: true, fields: [], messages: [] };
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return { valid: false, fields: ['?'], messages: [text], raw: text };
  }
  const causes: { field?: string; message?: string }[] = body?.details?.causes ?? [];
  if (causes.length > 0) {
    return { valid: false, fields: causes.map((c) => (c.field === '<nil>' || !c.field ? '' : c.field)), messages: causes.map((c) => c.message ?? ''), raw: text };
  }
  const message = String(body?.message ?? text);
  const goField = /cannot unmarshal \S+ into Go (?:struct field ObjectMeta\.(\S+)|value of type v1\.ObjectMeta)/.exec(message);
  if (goField) return { valid: false, fields: [goField[1] ? `metadata.${goField[1]}` : 'metadata'], messages: [message], raw: text };
  const unknown = [...message.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]);
  if (unknown.length > 0) return { valid: false, fields: unknown, messages: unknown.map((f) => `unknown field "${f}"`), raw: text };
  return { valid: false, fields: ['?'], messages: [message], raw: text };
}

let counter = 0;

/** Judges `object` (create), or `old` then `object` as an update, in `namespace`. */
export async function serverVerdict(
  kc: KubeConfig,
  namespace: string,
  object: Record<string, unknown>,
  opts: { strict?: boolean; old?: Record<string, unknown> } = {},
): Promise<Verdict> {
  const validation = opts.strict ? 'Strict' : 'Warn';
  if (!opts.old) {
    const r = await rawRequest(kc, { method: 'POST', path: `${resourcePath(object, namespace)}?dryRun=All&fieldValidation=${validation}`, body: object, contentType: 'application/json' });
    return parse(r.status, r.text);
  }
  const name = `upd-${process.pid}-${++counter}`;
  const old = { ...opts.old, metadata: { ...(opts.old.metadata as object), name } };
  const created = await rawRequest(kc, { method: 'POST', path: resourcePath(old, namespace), body: old, contentType: 'application/json' });
  if (created.status >= 300) throw new Error(`storing the old object failed: ${created.text}`);
  const stored = JSON.parse(created.text);
  const update = { ...object, metadata: { ...(object.metadata as object), name, resourceVersion: stored.metadata.resourceVersion } };
  const r = await rawRequest(kc, { method: 'PUT', path: `${resourcePath(update, namespace, name)}?dryRun=All&fieldValidation=${validation}`, body: update, contentType: 'application/json' });
  await rawRequest(kc, { method: 'DELETE', path: resourcePath(update, namespace, name) });
  return parse(r.status, r.text);
}

/** Field paths of our errors, as a sorted multiset-free list. */
export function ourFields(errors: readonly FieldError[]): string[] {
  return [...new Set(errors.map((e) => e.field))].sort();
}

export function sameFields(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}
