import type { JSONSchemaProps, ValidationRule } from './openapi';

/** What a schema node stands for; decides how it is emitted and checked. */
export type NodeKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'object'
  | 'array'
  | 'map'
  | 'intOrString'
  | 'preserveUnknown'
  | 'raw';

/** Options every builder takes. `description` is mandatory: it feeds `kubectl explain`, TSDoc and JSON Schema hovers. */
export interface CommonOptions<T> {
  /** What the field means, in one or two sentences. */
  readonly description: string;
  /** Applied by the API server when the field is absent (and its parent present). */
  readonly default?: T;
  /** Shown in generated docs and JSON Schema. */
  readonly example?: T;
  readonly title?: string;
  readonly externalDocs?: { readonly description?: string; readonly url: string };
  /** CEL rules (`x-kubernetes-validations`) evaluated with `self` bound to this field. */
  readonly rules?: readonly ValidationRule[];
}

/** Everything a node knows. Builders fill it; emit and check read it. */
export interface NodeSpec {
  readonly kind: NodeKind;
  readonly description: string;
  readonly title?: string;
  readonly default?: unknown;
  readonly example?: unknown;
  readonly externalDocs?: { readonly description?: string; readonly url: string };
  readonly nullable?: boolean;
  readonly rules: readonly ValidationRule[];
  // strings (also the string side of quantities)
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly enum?: readonly (string | number)[];
  // numbers
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly exclusiveMaximum?: boolean;
  readonly multipleOf?: number;
  // objects
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly mapType?: 'atomic' | 'granular';
  readonly embeddedResource?: boolean;
  // arrays
  readonly items?: SchemaNode;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly listType?: 'atomic' | 'set' | 'map';
  readonly listMapKeys?: readonly string[];
  // maps
  readonly values?: SchemaNode;
  // escape hatch
  readonly raw?: JSONSchemaProps;
}

/**
 * One node of a CRD schema. `T` is the TypeScript shape of the values the node
 * accepts; it exists only at compile time (see `Infer`).
 *
 * Nodes are immutable: every modifier returns a new node, so a shared type such
 * as an object reference can be reused with a different description or rule.
 */
export class SchemaNode<T = unknown> {
  /** Phantom member carrying the value type; never set at run time. */
  declare readonly __type?: T;

  constructor(readonly spec: NodeSpec) {}

  /** The same node with another description (for a reused type at a new place). */
  describe(description: string): SchemaNode<T> {
    return new SchemaNode<T>({ ...this.spec, description });
  }

  /** The same node with more CEL rules appended. */
  withRules(...rules: ValidationRule[]): SchemaNode<T> {
    return new SchemaNode<T>({ ...this.spec, rules: [...this.spec.rules, ...rules] });
  }

  /** The same node with a default value. */
  withDefault(value: T): SchemaNode<T> {
    return new SchemaNode<T>({ ...this.spec, default: value });
  }

  /** Also accept JSON `null` (optional is not nullable: see the README). */
  nullable(): SchemaNode<T | null> {
    return new SchemaNode<T | null>({ ...this.spec, nullable: true });
  }

  /**
   * Refuse changes after creation: adds the transition rule `self == oldSelf`.
   *
   * A transition rule only runs when the field exists in both the old and the
   * new object, so for an optional field also guard its presence on the parent
   * (see `presenceImmutable` in src/cel/rules.ts).
   */
  immutable(message = 'field is immutable'): SchemaNode<T> {
    return this.withRules({ rule: 'self == oldSelf', message });
  }
}

/** The TypeScript value type of a schema node. */
export type Infer<S> = S extends SchemaNode<infer T> ? T : never;

/** Makes intersections print as one object in editor hovers. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};
