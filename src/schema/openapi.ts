/**
 * The subset of apiextensions.k8s.io/v1 `JSONSchemaProps` that the DSL emits.
 *
 * Kept as a plain interface so emitted schemas are ordinary JSON values that
 * can be written to YAML, handed to ajv, or compared in tests.
 */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  example?: unknown;
  enum?: unknown[];
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  required?: string[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  externalDocs?: { description?: string; url: string };
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
  /** Never emitted by the DSL: kube-apiserver rejects `uniqueItems: true`. Listed so raw schemas can be checked. */
  uniqueItems?: boolean;
}

/** The reasons kube-apiserver accepts on an `x-kubernetes-validations` rule. */
export type RuleReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

/** One `x-kubernetes-validations` entry, as it appears in a CRD. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: RuleReason;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}
