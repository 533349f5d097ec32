/**
 * Field errors shaped like kube-apiserver's (k8s.io/apimachinery field.Error):
 * a path such as `spec.disks[0].sizeGiB`, a cause type, and a message that
 * reads like the API server's.
 */

/** The API server's cause types (metav1.CauseType). */
export type CauseType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooMany'
  | 'FieldValueTooLong'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueNotFound'
  | 'FieldValueUnknown'
  /** Not an API server cause: the document could not be read at all. */
  | 'DocumentInvalid';

export interface FieldError {
  /** Path from the object root, e.g. `spec.disks[0].sizeGiB`; empty for the whole document. */
  readonly field: string;
  readonly type: CauseType;
  /** The message as the API server prints it after `<field>: `. */
  readonly message: string;
  /** The rule that failed: a schema keyword (`minimum`, `enum`, ...), `cel`, `metadata`, `decode`. */
  readonly rule?: string;
  /** Advice beyond the API server's message, e.g. to quote a YAML 1.1 boolean. */
  readonly hint?: string;
}

/** Renders a value the way apimachinery's field.Invalid does in messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null) return 'null';
  if (Array.isArray(value)) return '"array"';
  if (typeof value === 'object') return '"object"';
  if (typeof value === 'number' && isFloat64(value)) return goFloat(value);
  return String(value);
}

const TWO_63 = 2 ** 63;

/**
 * True when the API server holds this decoded number as a float64: it has a
 * fraction, or it is whole but outside int64 (kubectl's JSON then carries
 * digits that do not fit an int64, e.g. 9223372036854775808, 1e20). Whole
 * numbers inside int64 reach the server as int64, even when written 2048.0.
 */
export function isFloat64(n: number): boolean {
  return !Number.isInteger(n) || n >= TWO_63 || n <= -TWO_63;
}

/** Go's %v of a float64 (strconv 'g', shortest): 2.5, 1.048576e+06, 9.223372036854776e+18, 1e-05. */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, e] = f.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f); // plain decimal in this range, shortest digits, as Go's %f with shortest precision
}

/** JSON type name of a decoded value, as the schema validator names it. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export const required = (field: string): FieldError => ({ field, type: 'FieldValueRequired', message: 'Required value', rule: 'required' });

export const invalid = (field: string, value: unknown, detail: string, rule: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  message: `Invalid value: ${show(value)}: ${detail}`,
  rule,
});

/** A value of the wrong JSON type; `got` is the type name the API server prints (string, integer, float64, ...). */
export const typeInvalid = (field: string, got: string, want: string): FieldError => ({
  field,
  type: 'FieldValueTypeInvalid',
  message: `Invalid value: "${got}": ${field} in body must be of type ${want}: "${got}"`,
  rule: 'type',
});

export const notSupported = (field: string, value: unknown, allowed: readonly unknown[]): FieldError => ({
  field,
  type: 'FieldValueNotSupported',
  message: `Unsupported value: ${show(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
  rule: 'enum',
});

export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  field,
  type: 'FieldValueTooMany',
  message: `Too many: ${actual}: must have at most ${max} items`,
  rule: 'maxItems',
});

export const tooLong = (field: string, max: number): FieldError => ({
  field,
  type: 'FieldValueTooLong',
  message: `Too long: may not be more than ${max} bytes`,
  rule: 'maxLength',
});

export const unknownField = (field: string): FieldError => ({
  field,
  type: 'FieldValueUnknown',
  message: `unknown field "${field}"`,
  rule: 'pruning',
});
