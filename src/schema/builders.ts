import { CommonOptions, NodeSpec, SchemaNode, Infer, Simplify } from './node';
import type { JSONSchemaProps } from './openapi';

/** Formats kube-apiserver validates for `type: string` (k8s.io/apiextensions-apiserver supported formats). */
export type StringFormat =
  | 'bsonobjectid' | 'uri' | 'email' | 'hostname' | 'ipv4' | 'ipv6' | 'cidr' | 'mac' | 'uuid' | 'uuid3'
  | 'uuid4' | 'uuid5' | 'isbn' | 'isbn10' | 'isbn13' | 'creditcard' | 'ssn' | 'hexcolor' | 'rgbcolor'
  | 'byte' | 'password' | 'date' | 'duration' | 'datetime' | 'date-time';

export interface StringOptions extends CommonOptions<string> {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** ECMA-262 / RE2-compatible regular expression; compiled at definition time. */
  readonly pattern?: string;
  readonly format?: StringFormat;
}

export interface EnumOptions<V> extends CommonOptions<V> {}

export interface IntegerOptions extends CommonOptions<number> {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly exclusiveMaximum?: boolean;
  readonly multipleOf?: number;
}

export interface NumberOptions extends IntegerOptions {
  /**
   * Floats are refused unless asked for, as controller-gen does: they do not
   * round-trip through every client exactly.
   */
  readonly allowFloat: true;
}

export interface ObjectOptions<P, R> extends CommonOptions<unknown> {
  readonly properties: P;
  readonly required?: readonly R[];
  readonly minProperties?: number;
  readonly maxProperties?: number;
  /** `atomic` makes server-side apply replace the object as a whole. */
  readonly mapType?: 'atomic' | 'granular';
}

export interface ArrayOptions extends CommonOptions<unknown[]> {
  readonly minItems?: number;
  readonly maxItems?: number;
  /**
   * Server-side apply topology. `set` also makes the API server reject
   * duplicate items (never emitted as `uniqueItems`, which it refuses).
   * @default - atomic
   */
  readonly listType?: 'atomic' | 'set' | 'map';
  /** Keys identifying an item when `listType` is `map`: required scalar fields of the item. */
  readonly listMapKeys?: readonly string[];
}

export interface MapOptions extends CommonOptions<Record<string, unknown>> {
  readonly minProperties?: number;
  readonly maxProperties?: number;
}

/** Kubernetes resource.Quantity pattern, as the API server's own OpenAPI publishes it. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** Go `time.ParseDuration` syntax (`30s`, `1h30m`, `1.5h`); VirtRigaud's CRDs left durations unchecked. */
export const DURATION_PATTERN = '^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$';

function node<T>(spec: Omit<NodeSpec, 'rules'> & { rules?: NodeSpec['rules'] }): SchemaNode<T> {
  return new SchemaNode<T>({ ...spec, rules: spec.rules ?? [] });
}

function common<T>(o: CommonOptions<T>) {
  return {
    description: o.description,
    default: o.default,
    example: o.example,
    title: o.title,
    externalDocs: o.externalDocs,
    rules: o.rules ?? [],
  };
}

/** A string. */
export function string(o: StringOptions): SchemaNode<string> {
  return node({ kind: 'string', ...common(o), minLength: o.minLength, maxLength: o.maxLength, pattern: o.pattern, format: o.format });
}

/** A string restricted to the given values; the TS type is their union. */
export function enumOf<const V extends readonly string[]>(values: V, o: EnumOptions<V[number]>): SchemaNode<V[number]> {
  return node({ kind: 'string', ...common(o), enum: values });
}

/** A 32-bit signed integer (`format: int32`). */
export function int32(o: IntegerOptions): SchemaNode<number> {
  return node({ kind: 'integer', ...common(o), format: 'int32', ...bounds(o) });
}

/** A 64-bit signed integer (`format: int64`). */
export function int64(o: IntegerOptions): SchemaNode<number> {
  return node({ kind: 'integer', ...common(o), format: 'int64', ...bounds(o) });
}

/** An integer without a format (Go `int`). */
export function integer(o: IntegerOptions): SchemaNode<number> {
  return node({ kind: 'integer', ...common(o), ...bounds(o) });
}

/** A floating-point number; needs `allowFloat: true`. */
export function number(o: NumberOptions): SchemaNode<number> {
  return node({ kind: 'number', ...common(o), ...bounds(o) });
}

function bounds(o: IntegerOptions) {
  return {
    minimum: o.minimum,
    maximum: o.maximum,
    exclusiveMinimum: o.exclusiveMinimum,
    exclusiveMaximum: o.exclusiveMaximum,
    multipleOf: o.multipleOf,
  };
}

/** true or false. */
export function boolean(o: CommonOptions<boolean>): SchemaNode<boolean> {
  return node({ kind: 'boolean', ...common(o) });
}

/** A Kubernetes resource.Quantity (`4Gi`, `500m`, or a bare integer). */
export function quantity(o: CommonOptions<string | number>): SchemaNode<string | number> {
  return node({ kind: 'intOrString', ...common(o), pattern: QUANTITY_PATTERN });
}

/** An integer or a string (`intstr.IntOrString`, e.g. `2` or `"25%"`). */
export function intOrString(o: CommonOptions<string | number> & { pattern?: string }): SchemaNode<string | number> {
  return node({ kind: 'intOrString', ...common(o), pattern: o.pattern });
}

/** A Go duration string (`metav1.Duration`): `30s`, `5m`, `1h30m`. */
export function duration(o: CommonOptions<string>): SchemaNode<string> {
  return node({ kind: 'string', ...common(o), pattern: DURATION_PATTERN, maxLength: 64 });
}

/** An RFC 3339 timestamp (`metav1.Time`). */
export function dateTime(o: CommonOptions<string>): SchemaNode<string> {
  return node({ kind: 'string', ...common(o), format: 'date-time' });
}

type ObjectValue<P extends Record<string, SchemaNode<any>>, R extends keyof P> = Simplify<
  { -readonly [K in R]-?: Infer<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

/** An object with fixed properties; `required` lists those that must be present. */
export function object<P extends Record<string, SchemaNode<any>>, R extends keyof P & string = never>(
  o: ObjectOptions<P, R>,
): SchemaNode<ObjectValue<P, R>> {
  return node({
    kind: 'object',
    ...common(o as CommonOptions<any>),
    properties: o.properties,
    required: o.required ?? [],
    minProperties: o.minProperties,
    maxProperties: o.maxProperties,
    mapType: o.mapType,
  });
}

/** A list of `items`. */
export function array<I extends SchemaNode<any>>(items: I, o: ArrayOptions): SchemaNode<Infer<I>[]> {
  return node({
    kind: 'array',
    ...common(o as CommonOptions<any>),
    items,
    minItems: o.minItems,
    maxItems: o.maxItems,
    listType: o.listType,
    listMapKeys: o.listMapKeys,
  });
}

/** A map from string keys to `values` (`additionalProperties`). */
export function map<V extends SchemaNode<any>>(values: V, o: MapOptions): SchemaNode<Record<string, Infer<V>>> {
  return node({
    kind: 'map',
    ...common(o as CommonOptions<any>),
    values,
    minProperties: o.minProperties,
    maxProperties: o.maxProperties,
  });
}

/** An object whose contents the API server keeps as they are (no pruning, no checks). */
export function preserveUnknown(o: CommonOptions<Record<string, unknown>>): SchemaNode<Record<string, unknown>> {
  return node({ kind: 'preserveUnknown', ...common(o) });
}

/** A whole Kubernetes object (apiVersion, kind, metadata) kept as is. */
export function embeddedResource(o: CommonOptions<Record<string, unknown>>): SchemaNode<Record<string, unknown>> {
  return node({ kind: 'preserveUnknown', ...common(o), embeddedResource: true });
}

/**
 * Escape hatch: a hand-written schema for one field. It is checked for
 * structural-schema rules like every other node, and typed `unknown`.
 */
export function raw(schema: JSONSchemaProps, o: CommonOptions<unknown>): SchemaNode<unknown> {
  return node({ kind: 'raw', ...common(o), raw: schema });
}
