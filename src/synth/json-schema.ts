import type { KindDefinition, JSONSchemaProps } from '../schema';

/**
 * JSON Schema (draft-07 compatible) for one kind, in the shape kubeconform and
 * the CRDs-catalog publish: strict objects (unknown fields are errors, as with
 * `kubectl --validate=strict`), apiVersion and kind pinned, nullable as a
 * type union. yaml-language-server can use these files directly.
 */
export function toJsonSchema(kind: KindDefinition): Record<string, unknown> {
  const root = convert(kind.openApiSchema()) as Record<string, any>;
  root.properties.apiVersion = { ...root.properties.apiVersion, enum: [kind.apiVersion] };
  root.properties.kind = { ...root.properties.kind, enum: [kind.kind] };
  root.required = ['apiVersion', 'kind', ...(root.required ?? [])];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://virtrigaud.io/schemas/${kind.group}/${kind.kind.toLowerCase()}_${kind.version}.json`,
    title: kind.kind,
    ...root,
  };
}

function convert(s: JSONSchemaProps): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(value as Record<string, JSONSchemaProps>).map(([k, v]) => [k, convert(v)]));
        break;
      case 'items':
        out.items = convert(value as JSONSchemaProps);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : convert(value as JSONSchemaProps);
        break;
      case 'anyOf':
      case 'allOf':
      case 'oneOf':
        out[key] = (value as JSONSchemaProps[]).map(convert);
        break;
      case 'nullable':
        break; // folded into `type` below
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        break; // OpenAPI booleans become draft-07 numbers below
      default:
        out[key] = value;
    }
  }
  if (s.nullable && typeof s.type === 'string') out.type = [s.type, 'null'];
  if (s.exclusiveMinimum && s.minimum !== undefined) {
    out.exclusiveMinimum = s.minimum;
    delete out.minimum;
  }
  if (s.exclusiveMaximum && s.maximum !== undefined) {
    out.exclusiveMaximum = s.maximum;
    delete out.maximum;
  }
  const strict = s.type === 'object' && s.properties && !s['x-kubernetes-preserve-unknown-fields'];
  if (strict) out.additionalProperties = false;
  return out;
}
