/**
 * Builds the smallest object a CRD's structural schema accepts, so that
 * `kubectl get` has a row to print (it prints no header for an empty list).
 * Heuristic: required fields only, defaults, first enum value, minimums.
 * CEL rules are not evaluated here; the API server has the last word.
 *
 * Works on the raw YAML/JSON schema (keys such as `x-kubernetes-int-or-string`).
 */
export interface RawSchema {
  readonly type?: string;
  readonly properties?: Record<string, RawSchema>;
  readonly items?: RawSchema;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly minItems?: number;
  readonly minLength?: number;
  readonly minProperties?: number;
  readonly format?: string;
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly description?: string;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export function sampleValue(schema: RawSchema | undefined, depth = 0): unknown {
  if (!schema || depth > 30) return undefined;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  if (schema['x-kubernetes-int-or-string']) return 1;
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      const names = [...(schema.required ?? [])];
      // An object that must not be empty gets its first declared properties.
      if (!names.length && (schema.minProperties ?? 0) > 0) names.push(...Object.keys(props).slice(0, schema.minProperties));
      for (const name of names) {
        const v = sampleValue(props[name], depth + 1);
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleValue(schema.items, depth + 1));
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? 1;
      const v = Math.max(schema.exclusiveMinimum ? min + 1 : min, schema.minimum !== undefined ? min : 1);
      return schema.maximum !== undefined ? Math.min(v, schema.maximum) : v;
    }
    case 'boolean':
      return false;
    case 'string':
      return sampleString(schema);
    default:
      return schema['x-kubernetes-preserve-unknown-fields'] ? {} : undefined;
  }
}

/** Strings tried, in order, against a `pattern` (only data: nothing is contacted). */
const STRING_CANDIDATES = [
  'sample', 'sample-1', 'a', 'A', 'Sample', '1', 'v1', '1.0.0', '1Gi',
  'sample.example', 'https://sample.example', 'https://sample.example:443/', 'tcp://sample.example:1',
  'grpc://sample.example:1', 'sample/sample', 'sample_1', '192.0.2.1', '192.0.2.0/24', '00:00:5e:00:53:01',
];

function sampleString(schema: RawSchema): string {
  if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
  if (schema.format === 'date') return '2026-01-01';
  const fits = (s: string) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity);
  if (schema.pattern) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(schema.pattern, 'u');
    } catch {
      /* not a JS regex; fall through */
    }
    const hit = re && STRING_CANDIDATES.find((c) => re!.test(c) && fits(c));
    if (hit) return hit;
  }
  return 'sample'.padEnd(schema.minLength ?? 0, 'x');
}

type Json = Record<string, unknown>;

function segments(fieldPath: string): string[] {
  return fieldPath.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== '');
}

/**
 * Creates an object of a kind from its spec schema: starts from
 * {@link sampleValue} and, when the API server rejects it (422), adds one
 * optional property at a time under the field the server complained about
 * (enough for "exactly one of ..." CEL rules). Bounded; returns the last
 * error when no variant is accepted.
 */
export async function createSample(
  specSchema: RawSchema | undefined,
  create: (spec: unknown) => Promise<unknown>,
  maxAttempts = 15,
): Promise<{ ok: true; spec: unknown } | { ok: false; error: string }> {
  const spec = sampleValue(specSchema);
  const tried = new Set<string>();
  let lastError = '';
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      await create(spec);
      return { ok: true, spec };
    } catch (err) {
      const e = err as { code?: number; body?: unknown };
      lastError = typeof e.body === 'string' ? e.body : String(err);
      if (e.code !== 422 || !specSchema || !spec || typeof spec !== 'object') break;
      let causes: { field?: string }[] = [];
      try {
        causes = (JSON.parse(lastError) as { details?: { causes?: { field?: string }[] } }).details?.causes ?? [];
      } catch {
        break;
      }
      let repaired = false;
      for (const cause of causes) {
        const path = segments(cause.field ?? '');
        if (path[0] !== 'spec') continue;
        // Walk schema and value down to the complained-about object.
        let node: RawSchema | undefined = specSchema;
        let value: unknown = spec;
        for (const seg of path.slice(1)) {
          if (/^\d+$/.test(seg)) {
            node = node?.items;
            value = (value as unknown[] | undefined)?.[Number(seg)];
          } else {
            node = node?.properties?.[seg];
            value = (value as Json | undefined)?.[seg];
          }
        }
        if (node?.type !== 'object' || !value || typeof value !== 'object') continue;
        for (const [name, prop] of Object.entries(node.properties ?? {})) {
          const key = `${cause.field}/${name}`;
          if (name in (value as Json) || tried.has(key)) continue;
          tried.add(key);
          (value as Json)[name] = sampleValue(prop) ?? {};
          // Undo the previous guess at this field, so we try one at a time.
          for (const other of Object.keys(node.properties ?? {})) {
            if (other !== name && tried.has(`${cause.field}/${other}`) && !(node.required ?? []).includes(other)) delete (value as Json)[other];
          }
          repaired = true;
          break;
        }
        if (repaired) break;
      }
      if (!repaired) break;
    }
  }
  return { ok: false, error: lastError };
}
