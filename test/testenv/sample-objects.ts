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
    case 'string': {
      if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (schema.format === 'date') return '2026-01-01';
      return 'sample'.padEnd(schema.minLength ?? 0, 'x');
    }
    default:
      return schema['x-kubernetes-preserve-unknown-fields'] ? {} : undefined;
  }
}
