import { Environment, Optional } from '@marcbachmann/cel-js';
import type { SchemaNode, ValidationRule } from '../schema';
import type { FieldError } from './errors';
import { nativeRule } from './cel-native';

/**
 * `x-kubernetes-validations` evaluated offline, the way kube-apiserver does:
 * `self` is the value at the rule's node, integers are int64 (bigint), and
 * transition rules (those using `oldSelf`) run only on updates, where the old
 * value can be paired with the new one.
 */

/** The CEL environment: Kubernetes enables optional types; `self`/`oldSelf` are dynamic. */
const env = new Environment({ unlistedVariablesAreDyn: false, enableOptionalTypes: true, homogeneousAggregateLiterals: false })
  .registerVariable('self', 'dyn')
  .registerVariable('oldSelf', 'dyn');

type Program = (context: Record<string, unknown>) => unknown;

interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program: Program;
  readonly messageProgram?: Program;
  readonly transition: boolean;
  readonly native: boolean;
}

/** A schema node that has rules itself or below it; nodes without any are left out of the walk. */
interface CelPlan {
  readonly kind: SchemaNode['spec']['kind'];
  readonly rules: readonly CompiledRule[];
  readonly properties?: ReadonlyMap<string, CelPlan>;
  readonly items?: CelPlan;
  readonly values?: CelPlan;
  /** Items pair old with new only in list maps (by these keys). */
  readonly listMapKeys?: readonly string[];
  /** The type name used as the "value" of a failed rule. */
  readonly typeName: string;
  /** Some rule here or below runs on the CEL library, which needs int64 values; native rules take JSON as is. */
  readonly needsCelValues: boolean;
}

/** Thrown when a rule of our own schema does not compile: a bug in the definition, not in user input. */
export class RuleCompileError extends Error {}

function compileRule(rule: ValidationRule, path: string, native: boolean): CompiledRule {
  const parse = (expr: string): Program => {
    try {
      return env.parse(expr) as unknown as Program;
    } catch (e) {
      throw new RuleCompileError(`${path || '(root)'}: CEL rule ${JSON.stringify(expr)} does not compile: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  // Every rule must compile as CEL; the shapes our helpers write then run as native code.
  const program = parse(rule.rule);
  const fast = native ? (nativeRule(rule.rule) as Program | undefined) : undefined;
  return {
    rule,
    native: fast !== undefined,
    program: fast ?? program,
    messageProgram: rule.messageExpression ? parse(rule.messageExpression) : undefined,
    transition: /\boldSelf\b/.test(rule.rule),
  };
}

function typeName(node: SchemaNode): string {
  switch (node.spec.kind) {
    case 'map':
    case 'preserveUnknown':
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'intOrString':
      return 'string';
    case 'raw':
      return node.spec.raw?.type ?? 'object';
    default:
      return node.spec.kind;
  }
}

/**
 * Compiles the rules of a schema tree; undefined when the tree has none (the API server then has no CEL validator).
 * `native: false` evaluates every rule with the CEL library (the tests compare both ways).
 */
export function compileCel(node: SchemaNode, path = '', native = true): CelPlan | undefined {
  const s = node.spec;
  const rules = s.rules.map((r) => compileRule(r, path, native));
  let properties: Map<string, CelPlan> | undefined;
  let items: CelPlan | undefined;
  let values: CelPlan | undefined;
  if (s.kind === 'object') {
    for (const [key, child] of Object.entries(s.properties ?? {})) {
      const plan = compileCel(child, path ? `${path}.${key}` : key, native);
      if (plan) (properties ??= new Map()).set(key, plan);
    }
  } else if (s.kind === 'array') {
    items = compileCel(s.items!, `${path}[*]`, native);
  } else if (s.kind === 'map') {
    values = compileCel(s.values!, `${path}[*]`, native);
  }
  if (rules.length === 0 && !properties && !items && !values) return undefined;
  const needsCelValues = rules.some((r) => !r.native) || [...(properties?.values() ?? []), items, values].some((c) => c?.needsCelValues);
  return { kind: s.kind, rules, properties, items, values, listMapKeys: s.listType === 'map' ? s.listMapKeys : undefined, typeName: typeName(node), needsCelValues };
}

/** Turns a decoded JSON value into what CEL sees at one schema node. */
export type CelConverter = (v: unknown) => unknown;

const identity: CelConverter = (v) => v;

/**
 * Compiles the conversion of decoded JSON into CEL values: integers become
 * int64 (bigint) wherever the schema says integer or leaves the type open.
 * Subtrees without such places are passed through without copying.
 */
export function compileCelConverter(node: SchemaNode): CelConverter {
  const s = node.spec;
  switch (s.kind) {
    case 'integer':
    case 'intOrString':
      return (v) => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v);
    case 'number':
      return (v) => (typeof v === 'bigint' ? Number(v) : v);
    case 'object': {
      const props = new Map<string, CelConverter>();
      for (const [k, child] of Object.entries(s.properties ?? {})) {
        const c = compileCelConverter(child);
        if (c !== identity) props.set(k, c);
      }
      if (props.size === 0) return identity;
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
        const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
        for (const [k, c] of props) if (k in out && Object.prototype.hasOwnProperty.call(out, k)) out[k] = c(out[k]);
        return out;
      };
    }
    case 'map': {
      const c = compileCelConverter(s.values!);
      if (c === identity) return identity;
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
        const out: Record<string, unknown> = {};
        for (const [k, child] of Object.entries(v as Record<string, unknown>)) out[k] = c(child);
        return out;
      };
    }
    case 'array': {
      const c = compileCelConverter(s.items!);
      if (c === identity) return identity;
      return (v) => (Array.isArray(v) ? v.map(c) : v);
    }
    case 'preserveUnknown':
    case 'raw':
      return dynValue;
    default:
      return identity;
  }
}

function dynValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(dynValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) out[k] = dynValue(child);
    return out;
  }
  return v;
}

const NONE = Symbol('no old value');

/** Evaluates every rule of `plan` against `self` (CEL values); `old` is the paired old value on updates. */
export function runCel(plan: CelPlan, self: unknown, old: unknown, path: string, errors: FieldError[]): void {
  walk(plan, self, old === undefined ? NONE : old, path, errors);
}

function walk(plan: CelPlan, self: unknown, old: unknown, path: string, errors: FieldError[]): void {
  if (self === undefined || self === null) return;
  for (const r of plan.rules) {
    if (r.transition && old === NONE && !r.rule.optionalOldSelf) continue;
    const oldSelf = !r.transition ? undefined : r.rule.optionalOldSelf ? (old === NONE ? Optional.none() : Optional.of(old)) : old;
    const context = r.transition ? { self, oldSelf } : { self };
    let ok: unknown;
    try {
      ok = r.program(context);
    } catch (e) {
      errors.push({ field: path, type: 'FieldValueInvalid', message: `Invalid value: "${plan.typeName}": internal error: ${(e as Error).message.split('\n')[0]} evaluating rule: ${r.rule.rule}`, rule: 'cel' });
      continue;
    }
    if (ok !== true) errors.push(ruleError(plan, r, context, path));
  }
  if (plan.properties && typeof self === 'object' && !Array.isArray(self)) {
    const o = self as Record<string, unknown>;
    const oo = old !== NONE && old && typeof old === 'object' && !Array.isArray(old) ? (old as Record<string, unknown>) : undefined;
    for (const [key, child] of plan.properties) {
      if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
      const childOld = oo && Object.prototype.hasOwnProperty.call(oo, key) ? oo[key] : NONE;
      walk(child, o[key], childOld, path ? `${path}.${key}` : key, errors);
    }
  } else if (plan.values && typeof self === 'object' && !Array.isArray(self)) {
    const o = self as Record<string, unknown>;
    const oo = old !== NONE && old && typeof old === 'object' ? (old as Record<string, unknown>) : undefined;
    for (const key of Object.keys(o)) {
      walk(plan.values, o[key], oo && Object.prototype.hasOwnProperty.call(oo, key) ? oo[key] : NONE, `${path}[${key}]`, errors);
    }
  } else if (plan.items && Array.isArray(self)) {
    const oldItems = plan.listMapKeys && Array.isArray(old) ? old : undefined;
    self.forEach((item, i) => {
      const paired = oldItems ? findByKeys(oldItems, item, plan.listMapKeys!) : NONE;
      walk(plan.items!, item, paired, `${path}[${i}]`, errors);
    });
  }
}

function findByKeys(list: unknown[], item: unknown, keys: readonly string[]): unknown {
  if (!item || typeof item !== 'object') return NONE;
  const want = item as Record<string, unknown>;
  const found = list.find((o) => o && typeof o === 'object' && keys.every((k) => (o as Record<string, unknown>)[k] === want[k]));
  return found ?? NONE;
}

function ruleError(plan: CelPlan, r: CompiledRule, context: Record<string, unknown>, path: string): FieldError {
  let message = r.rule.message;
  if (r.messageProgram) {
    try {
      const m = r.messageProgram(context);
      if (typeof m === 'string' && m.trim() && !/[\r\n]/.test(m)) message = m;
    } catch {
      // The API server falls back to the static message (or the rule text) when the expression fails.
    }
  }
  message ??= `failed rule: ${r.rule.rule}`;
  const field = r.rule.fieldPath ? joinFieldPath(path, r.rule.fieldPath) : path;
  switch (r.rule.reason) {
    case 'FieldValueForbidden':
      return { field, type: 'FieldValueForbidden', message: `Forbidden: ${message}`, rule: 'cel' };
    case 'FieldValueRequired':
      return { field, type: 'FieldValueRequired', message: `Required value: ${message}`, rule: 'cel' };
    case 'FieldValueDuplicate':
      return { field, type: 'FieldValueDuplicate', message: `Duplicate value: "${plan.typeName}"`, rule: 'cel' };
    default:
      return { field, type: 'FieldValueInvalid', message: `Invalid value: ${message}`, rule: 'cel' };
  }
}

/** Appends a rule's relative fieldPath (`.a.b`, `['x']`, `[0]`) to the path of its node. */
function joinFieldPath(base: string, rel: string): string {
  let out = base;
  for (const m of rel.matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]|\[([0-9]+)\]/g)) {
    if (m[1] !== undefined) out = out ? `${out}.${m[1]}` : m[1];
    else if (m[2] !== undefined) out = out ? `${out}.${m[2]}` : m[2];
    else out = `${out}[${m[3]}]`;
  }
  return out;
}
