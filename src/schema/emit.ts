import type { SchemaNode } from './node';
import type { JSONSchemaProps } from './openapi';

/** Options for turning a DSL tree into OpenAPI v3. */
export interface EmitOptions {
  /** Cut descriptions longer than this (controller-gen's maxDescLen). @default - no limit */
  readonly maxDescriptionLength?: number;
}

/** Emits the structural OpenAPI v3 schema of a node, as a CRD carries it. */
export function toOpenApi(n: SchemaNode, opts: EmitOptions = {}): JSONSchemaProps {
  const s = n.spec;
  const out: JSONSchemaProps = {};
  switch (s.kind) {
    case 'string':
      out.type = 'string';
      break;
    case 'integer':
      out.type = 'integer';
      break;
    case 'number':
      out.type = 'number';
      break;
    case 'boolean':
      out.type = 'boolean';
      break;
    case 'intOrString':
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
      out['x-kubernetes-int-or-string'] = true;
      break;
    case 'object':
      out.type = 'object';
      out.properties = {};
      for (const key of Object.keys(s.properties ?? {}).sort()) {
        out.properties[key] = toOpenApi(s.properties![key], opts);
      }
      if (s.required && s.required.length > 0) out.required = [...s.required].sort();
      break;
    case 'map':
      out.type = 'object';
      out.additionalProperties = toOpenApi(s.values!, opts);
      break;
    case 'array':
      out.type = 'array';
      out.items = toOpenApi(s.items!, opts);
      break;
    case 'preserveUnknown':
      out.type = 'object';
      out['x-kubernetes-preserve-unknown-fields'] = true;
      if (s.embeddedResource) out['x-kubernetes-embedded-resource'] = true;
      break;
    case 'raw':
      Object.assign(out, structuredClone(s.raw));
      break;
  }
  const description = cut(s.description, opts.maxDescriptionLength);
  assign(out, {
    description,
    title: s.title,
    format: s.format,
    enum: s.enum ? [...s.enum] : undefined,
    pattern: s.pattern,
    minLength: s.minLength,
    maxLength: s.maxLength,
    minimum: s.minimum,
    maximum: s.maximum,
    exclusiveMinimum: s.exclusiveMinimum,
    exclusiveMaximum: s.exclusiveMaximum,
    multipleOf: s.multipleOf,
    minItems: s.minItems,
    maxItems: s.maxItems,
    minProperties: s.minProperties,
    maxProperties: s.maxProperties,
    nullable: s.nullable,
    default: s.default === undefined ? undefined : structuredClone(s.default),
    example: s.example === undefined ? undefined : structuredClone(s.example),
    externalDocs: s.externalDocs ? { ...s.externalDocs } : undefined,
    'x-kubernetes-list-type': s.listType,
    'x-kubernetes-list-map-keys': s.listMapKeys ? [...s.listMapKeys] : undefined,
    'x-kubernetes-map-type': s.mapType,
    'x-kubernetes-validations': s.rules.length > 0 ? s.rules.map((r) => ({ ...r })) : undefined,
  });
  return out;
}

function assign(target: JSONSchemaProps, values: JSONSchemaProps): void {
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  }
}

function cut(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  return text.slice(0, Math.max(0, max - 3)) + '...';
}
