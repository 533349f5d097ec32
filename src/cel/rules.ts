import type { RuleReason, ValidationRule } from '../schema/openapi';

/**
 * Ready-made CEL rules for `x-kubernetes-validations`, each with a message a
 * person can act on. All of them have a constant or `maxItems`-bounded cost.
 */

/** CEL reserved words that must be escaped as `__word__` when used as a field name. */
const RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
]);

/** The CEL identifier for a property name, escaped the way kube-apiserver expects. */
export function celField(name: string): string {
  if (RESERVED.has(name)) return `__${name}__`;
  return name
    .replace(/__/g, '__underscores__')
    .replace(/\./g, '__dot__')
    .replace(/-/g, '__dash__')
    .replace(/\//g, '__slash__');
}

/** "a, b or c" */
function list(names: readonly string[], conj: string): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${conj} ${names[names.length - 1]}`;
}

function countSet(fields: readonly string[]): string {
  return fields.map((f) => `(has(self.${celField(f)}) ? 1 : 0)`).join(' + ');
}

export interface RuleOptions {
  readonly message?: string;
  readonly reason?: RuleReason;
  readonly fieldPath?: string;
}

function needTwo(helper: string, fields: readonly string[]): void {
  if (fields.length < 2) throw new Error(`${helper}() needs at least two field names, got ${JSON.stringify(fields)}`);
}

/** At most one of `fields` may be set (for two fields: they are mutually exclusive). */
export function atMostOneOf(fields: readonly string[], o: RuleOptions = {}): ValidationRule {
  needTwo('atMostOneOf', fields);
  const rule = fields.length === 2
    ? `!(has(self.${celField(fields[0])}) && has(self.${celField(fields[1])}))`
    : `${countSet(fields)} <= 1`;
  const message = o.message ?? (fields.length === 2
    ? `${fields[0]} and ${fields[1]} are mutually exclusive: set at most one of them`
    : `at most one of ${list(fields, 'or')} may be set`);
  return withOptions({ rule, message }, o);
}

/** Alias of `atMostOneOf` that reads better for two fields. */
export function mutuallyExclusive(a: string, b: string, o: RuleOptions = {}): ValidationRule {
  return atMostOneOf([a, b], o);
}

/** Exactly one of `fields` must be set. */
export function exactlyOneOf(fields: readonly string[], o: RuleOptions = {}): ValidationRule {
  needTwo('exactlyOneOf', fields);
  return withOptions({
    rule: `${countSet(fields)} == 1`,
    message: o.message ?? `exactly one of ${list(fields, 'or')} must be set`,
  }, o);
}

/** At least one of `fields` must be set. */
export function atLeastOneOf(fields: readonly string[], o: RuleOptions = {}): ValidationRule {
  needTwo('atLeastOneOf', fields);
  return withOptions({
    rule: fields.map((f) => `has(self.${celField(f)})`).join(' || '),
    message: o.message ?? `at least one of ${list(fields, 'or')} must be set`,
  }, o);
}

/**
 * On a list of objects: the value of `key` is unique across items. Cost is
 * quadratic in the list length, so the list needs a small `maxItems`.
 */
export function uniqueBy(key: string, o: RuleOptions & { readonly what?: string } = {}): ValidationRule {
  const k = celField(key);
  return withOptions({
    rule: `self.all(x, self.exists_one(y, y.${k} == x.${k}))`,
    message: o.message ?? `${o.what ?? 'item'} ${key}s must be unique`,
    // Not FieldValueDuplicate: kube-apiserver then prints only "Duplicate value" and drops the message.
  }, o);
}

/** A transition rule `self == oldSelf` on the field itself. */
export function immutable(message = 'field is immutable'): ValidationRule {
  return { rule: 'self == oldSelf', message };
}

/**
 * On the parent object: `field` can be neither added nor removed after
 * creation. Completes `immutable()` for optional fields, whose own transition
 * rule does not run when the field is absent on either side.
 */
export function presenceImmutable(field: string, o: RuleOptions = {}): ValidationRule {
  const f = celField(field);
  return withOptions({
    rule: `has(self.${f}) == has(oldSelf.${f})`,
    message: o.message ?? `${field} cannot be added or removed after creation`,
  }, o);
}

/**
 * `field` is set exactly when `discriminator` equals `value` (a union's
 * member that goes with one choice of its discriminator, e.g. `selector`
 * with `from: Selector`). The discriminator must be set, e.g. by a default.
 */
export function presentWhen(field: string, discriminator: string, value: string, o: RuleOptions = {}): ValidationRule {
  if (!/^[A-Za-z0-9_.-]*$/.test(value)) throw new Error(`presentWhen(): value ${JSON.stringify(value)} must be a plain word`);
  return withOptions({
    rule: `has(self.${celField(field)}) == (self.${celField(discriminator)} == '${value}')`,
    message: o.message ?? `${field} is required when ${discriminator} is ${value}, and only then`,
  }, o);
}

/** A rule written by hand. */
export function rule(expression: string, message: string, o: Omit<RuleOptions, 'message'> & { optionalOldSelf?: boolean } = {}): ValidationRule {
  return withOptions({ rule: expression, message, optionalOldSelf: o.optionalOldSelf }, o);
}

function withOptions(r: ValidationRule, o: RuleOptions): ValidationRule {
  const out: ValidationRule = { rule: r.rule, message: r.message };
  const reason = o.reason ?? r.reason;
  if (reason) out.reason = reason;
  if (o.fieldPath) out.fieldPath = o.fieldPath;
  if (r.optionalOldSelf) out.optionalOldSelf = true;
  return out;
}
