import type { SchemaNode } from '../schema';
import {
  FieldError, required, invalid, typeInvalid, notSupported, tooMany, tooLong, jsonType, isFloat64, goFloat,
} from './errors';

/**
 * The API server's structural pipeline for one schema, compiled once into
 * closures: pruning of unknown fields, dropping nulls, defaulting, then the
 * OpenAPI checks (types, required, enum, patterns, limits) with the API
 * server's messages and cause types.
 */

/** Per-document state shared by the compiled checks. */
export interface WalkContext {
  readonly errors: FieldError[];
  /** Paths of fields the schema does not declare (pruned). */
  readonly unknown: string[];
}

/** Checks `value` (which it may default and prune in place) found at `path`. */
export type Check = (value: unknown, path: string, ctx: WalkContext) => void;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Prunes a value the schema gives no structure for, as the API server's
 * pruning does with a nil schema: every key of an object is unknown; lists
 * are searched item by item.
 */
function pruneUnstructured(v: unknown, path: string, ctx: WalkContext): void {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) pruneUnstructured(v[i], `${path}[${i}]`, ctx);
  } else if (isObject(v)) {
    for (const key of Object.keys(v)) {
      ctx.unknown.push(`${path}.${key}`);
      delete v[key];
    }
  }
}

/** A schema without properties or items meets an object or a list: prune what it holds. */
function pruneMismatch(v: unknown, path: string, ctx: WalkContext): void {
  if (typeof v === 'object' && v !== null) pruneUnstructured(v, path, ctx);
}

/** Compiles a schema node; the result is reused for every document. */
export function compileStructural(node: SchemaNode): Check {
  const s = node.spec;
  switch (s.kind) {
    case 'string':
      return compileString(node);
    case 'integer':
    case 'number':
      return compileNumber(node);
    case 'boolean':
      return (v, path, ctx) => {
        if (typeof v !== 'boolean') {
          pruneMismatch(v, path, ctx);
          ctx.errors.push(typeInvalid(path, jsonType(v), 'boolean'));
        }
      };
    case 'intOrString':
      return compileIntOrString(node);
    case 'object':
      return compileObject(node);
    case 'map':
      return compileMap(node);
    case 'array':
      return compileArray(node);
    case 'preserveUnknown':
      return (v, path, ctx) => {
        if (!isObject(v)) ctx.errors.push(typeInvalid(path, jsonType(v), 'object'));
      };
    case 'raw':
      return compileRaw(node);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compileEnum(values: readonly unknown[] | undefined): ((v: unknown, path: string, ctx: WalkContext) => void) | undefined {
  if (!values) return undefined;
  const set = new Set(values);
  return (v, path, ctx) => {
    if (!set.has(v as never)) ctx.errors.push(notSupported(path, v, values));
  };
}

/** String length as the API server counts it (runes, i.e. code points). */
function runeLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

function compileString(node: SchemaNode): Check {
  const s = node.spec;
  const enumCheck = compileEnum(s.enum);
  const re = s.pattern ? new RegExp(s.pattern, 'u') : undefined;
  const { minLength, maxLength } = s;
  return (v, path, ctx) => {
    if (typeof v !== 'string') {
      pruneMismatch(v, path, ctx);
      ctx.errors.push(typeInvalid(path, jsonType(v), 'string'));
      enumCheck?.(v, path, ctx);
      return;
    }
    // Like kube-openapi's string validator, only the first failing length or pattern check is reported.
    if (maxLength !== undefined && runeLength(v) > maxLength) ctx.errors.push(tooLong(path, maxLength));
    else if (minLength !== undefined && runeLength(v) < minLength) {
      ctx.errors.push(invalid(path, v, `${path} in body should be at least ${minLength} chars long`, 'minLength'));
    } else if (re && !re.test(v)) ctx.errors.push(invalid(path, v, `${path} in body should match '${s.pattern}'`, 'pattern'));
    enumCheck?.(v, path, ctx);
  };
}

function isInteger(v: unknown): boolean {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

function compileNumber(node: SchemaNode): Check {
  const s = node.spec;
  const integer = s.kind === 'integer';
  const enumCheck = compileEnum(s.enum);
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, format } = s;
  return (v, path, ctx) => {
    if (typeof v !== 'number' && typeof v !== 'bigint') {
      pruneMismatch(v, path, ctx);
      ctx.errors.push(typeInvalid(path, jsonType(v), integer ? 'integer' : 'number'));
      return;
    }
    const n = Number(v);
    // a float64 at the API server (a fraction, or whole but outside int64): bounds are printed as floats
    const float = typeof v === 'number' && isFloat64(v);
    const bound = (b: number): string => (float ? goFloat(b) : String(b));
    if (integer && (float || !isInteger(v))) {
      // The API server names Go's type for the value and adds a fieldless format error; the bounds are still checked.
      if (format === 'int32' || format === 'int64') {
        ctx.errors.push(typeInvalid(path, 'float64', format));
        ctx.errors.push(formatError(path, `with format ${format}`));
      } else {
        ctx.errors.push(typeInvalid(path, 'number', 'integer'));
        ctx.errors.push(formatError(path, '(default format)'));
      }
    } else if (format === 'int32' && (n < INT32_MIN || n > INT32_MAX)) {
      ctx.errors.push(formatError(path, 'with format int32'));
    }
    if (minimum !== undefined && (exclusiveMinimum ? n <= minimum : n < minimum)) {
      ctx.errors.push(invalid(path, v, `${path} in body should be greater than ${exclusiveMinimum ? '' : 'or equal to '}${bound(minimum)}`, 'minimum'));
    }
    if (maximum !== undefined && (exclusiveMaximum ? n >= maximum : n > maximum)) {
      ctx.errors.push(invalid(path, v, `${path} in body should be less than ${exclusiveMaximum ? '' : 'or equal to '}${bound(maximum)}`, 'maximum'));
    }
    if (multipleOf !== undefined && n % multipleOf !== 0) {
      ctx.errors.push(invalid(path, v, `${path} in body should be a multiple of ${bound(multipleOf)}`, 'multipleOf'));
    }
    enumCheck?.(v, path, ctx);
  };
}

/** The fieldless error kube-openapi adds when a number does not fit its format. */
function formatError(path: string, format: string): FieldError {
  return { field: '', type: 'FieldValueInvalid', message: `Invalid value: "": Checked value must be of type integer ${format} in ${path}`, rule: 'format' };
}

function compileIntOrString(node: SchemaNode): Check {
  const s = node.spec;
  const re = s.pattern ? new RegExp(s.pattern, 'u') : undefined;
  return (v, path, ctx) => {
    if (typeof v === 'string') {
      if (re && !re.test(v)) ctx.errors.push(invalid(path, v, `${path} in body should match '${s.pattern}'`, 'pattern'));
      return;
    }
    if (isInteger(v)) return;
    pruneMismatch(v, path, ctx);
    // What the API server reports for the anyOf [integer, string] that int-or-string compiles to.
    const got = jsonType(v);
    ctx.errors.push(typeInvalid(path, got, 'integer,string'));
    ctx.errors.push({ field: '', type: 'FieldValueInvalid', message: `Invalid value: "": "${path}" must validate at least one schema (anyOf)`, rule: 'anyOf' });
    ctx.errors.push(typeInvalid(path, got, 'integer'));
  };
}

interface PropertyPlan {
  readonly key: string;
  readonly check: Check;
  readonly default: unknown;
  readonly nullable: boolean;
}

function compileObject(node: SchemaNode): Check {
  const s = node.spec;
  const props = new Map<string, PropertyPlan>();
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    props.set(key, { key, check: compileStructural(child), default: child.spec.default, nullable: !!child.spec.nullable });
  }
  const withDefaults = [...props.values()].filter((p) => p.default !== undefined);
  const requiredKeys = s.required ?? [];
  const { minProperties, maxProperties } = s;
  const counted = minProperties !== undefined || maxProperties !== undefined;
  return (v, path, ctx) => {
    if (!isObject(v)) {
      pruneMismatch(v, path, ctx);
      ctx.errors.push(typeInvalid(path, jsonType(v), 'object'));
      return;
    }
    const prefix = path ? `${path}.` : '';
    // Prune unknown fields and drop nulls of non-nullable fields, before defaulting (the API server's order).
    for (const key in v) {
      if (!hasOwn.call(v, key)) continue;
      const plan = props.get(key);
      if (!plan) {
        ctx.unknown.push(prefix + key);
        delete v[key];
      } else if (v[key] === null && !plan.nullable) {
        delete v[key];
      }
    }
    for (let i = 0; i < withDefaults.length; i++) {
      const plan = withDefaults[i];
      if (!hasOwn.call(v, plan.key)) define(v, plan.key, copyDefault(plan.default));
    }
    for (let i = 0; i < requiredKeys.length; i++) {
      if (!hasOwn.call(v, requiredKeys[i])) ctx.errors.push(required(prefix + requiredKeys[i]));
    }
    if (counted) {
      const count = Object.keys(v).length;
      if (maxProperties !== undefined && count > maxProperties) ctx.errors.push(tooMany(path, count, maxProperties));
      if (minProperties !== undefined && count < minProperties) {
        ctx.errors.push(invalid(path, count, `${path} in body should have at least ${minProperties} properties`, 'minProperties'));
      }
    }
    for (const key in v) {
      if (!hasOwn.call(v, key)) continue;
      const child = v[key];
      if (child !== null) props.get(key)!.check(child, prefix + key, ctx);
    }
  };
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Defaults are shared by every document: copy objects and lists, not scalars. */
function copyDefault(d: unknown): unknown {
  return typeof d === 'object' && d !== null ? structuredClone(d) : d;
}

/** Sets an own data property, even for keys like `__proto__`. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

function compileMap(node: SchemaNode): Check {
  const s = node.spec;
  const valueCheck = compileStructural(s.values!);
  const valueDefault = s.values!.spec.default;
  const valueNullable = !!s.values!.spec.nullable;
  const { minProperties, maxProperties } = s;
  return (v, path, ctx) => {
    if (!isObject(v)) {
      pruneMismatch(v, path, ctx);
      ctx.errors.push(typeInvalid(path, jsonType(v), 'object'));
      return;
    }
    for (const key of Object.keys(v)) {
      if (v[key] !== null) continue;
      // Nulls in a map of non-nullable values are dropped, or replaced by the values' default.
      if (valueDefault !== undefined) define(v, key, copyDefault(valueDefault));
      else if (!valueNullable) delete v[key];
    }
    const keys = Object.keys(v);
    if (maxProperties !== undefined && keys.length > maxProperties) ctx.errors.push(tooMany(path, keys.length, maxProperties));
    if (minProperties !== undefined && keys.length < minProperties) {
      ctx.errors.push(invalid(path, keys.length, `${path} in body should have at least ${minProperties} properties`, 'minProperties'));
    }
    for (const key of keys) valueCheck(v[key], `${path}.${key}`, ctx);
  };
}

function compileArray(node: SchemaNode): Check {
  const s = node.spec;
  const itemCheck = compileStructural(s.items!);
  const { minItems, maxItems, listType, listMapKeys } = s;
  return (v, path, ctx) => {
    if (!Array.isArray(v)) {
      pruneMismatch(v, path, ctx);
      ctx.errors.push(typeInvalid(path, jsonType(v), 'array'));
      return;
    }
    if (maxItems !== undefined && v.length > maxItems) ctx.errors.push(tooMany(path, v.length, maxItems));
    if (minItems !== undefined && v.length < minItems) {
      ctx.errors.push(invalid(path, v.length, `${path} in body should have at least ${minItems} items`, 'minItems'));
    }
    for (let i = 0; i < v.length; i++) itemCheck(v[i], `${path}[${i}]`, ctx);
    if (listType === 'set') checkSetUnique(v, path, ctx);
    else if (listType === 'map' && listMapKeys) checkMapKeysUnique(v, listMapKeys, path, ctx);
  };
}

function checkSetUnique(v: unknown[], path: string, ctx: WalkContext): void {
  const seen = new Set<unknown>();
  v.forEach((item, i) => {
    const key = typeof item === 'object' ? JSON.stringify(item) : item;
    if (seen.has(key)) ctx.errors.push({ field: `${path}[${i}]`, type: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(item)}`, rule: 'x-kubernetes-list-type' });
    seen.add(key);
  });
}

function checkMapKeysUnique(v: unknown[], keys: readonly string[], path: string, ctx: WalkContext): void {
  const seen = new Set<string>();
  v.forEach((item, i) => {
    if (!isObject(item)) return;
    const key = JSON.stringify(keys.map((k) => item[k] ?? null));
    if (seen.has(key)) {
      const shown = keys.map((k) => `"${k}":${JSON.stringify(item[k])}`).join(',');
      ctx.errors.push({ field: `${path}[${i}]`, type: 'FieldValueDuplicate', message: `Duplicate value: map[string]interface {}{${shown}}`, rule: 'x-kubernetes-list-map-keys' });
    }
    seen.add(key);
  });
}

/** Raw schemas (the root `metadata` placeholder, escape hatches): type only. */
function compileRaw(node: SchemaNode): Check {
  const type = node.spec.raw?.type;
  return (v, path, ctx) => {
    if (type === 'object' && !isObject(v)) ctx.errors.push(typeInvalid(path, jsonType(v), 'object'));
    else if (type === 'string' && typeof v !== 'string') ctx.errors.push(typeInvalid(path, jsonType(v), 'string'));
  };
}

/** The error types after which kube-apiserver skips CEL rules (strategy.go hasBlockingErr). */
export const BLOCKING = new Set(['FieldValueNotSupported', 'FieldValueRequired', 'FieldValueTooLong', 'FieldValueTooMany', 'FieldValueTypeInvalid']);

/** The fieldless error the API server adds when it skipped CEL rules. */
export const RULES_NOT_CHECKED: FieldError = {
  field: '',
  type: 'FieldValueInvalid',
  message: 'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
  rule: 'cel',
};
