import type { SchemaNode, NodeSpec } from './node';
import type { JSONSchemaProps, ValidationRule } from './openapi';
import { estimateRuleProblems } from '../cel/static-cost';

/**
 * Definition-time checks: everything kube-apiserver would refuse in a CRD
 * schema (or accept and then never let pass), reported with the field path.
 */

export const RULE_REASONS = ['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate'];
const STRING_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4', 'uuid5',
  'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password', 'date', 'duration',
  'datetime', 'date-time',
]);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const FIELD_PATH = /^(\.[A-Za-z_][A-Za-z0-9_-]*|\['[^']*'\]|\[[0-9]+\])+$/;

/** Where a node sits while walking: the path users see, and whether `oldSelf` can reach it. */
interface Place {
  readonly path: string;
  /** False under list items that are not `x-kubernetes-list-type: map`: the API server cannot pair old and new there. */
  readonly correlatable: boolean;
  /** Product of the enclosing lists' and maps' bounds (undefined = unbounded). */
  readonly cardinality: number | undefined;
}

/** Walks a schema and returns every problem found, as `path: message` lines. */
export function checkSchema(root: SchemaNode, rootPath: string): string[] {
  const problems: string[] = [];
  walk(root, { path: rootPath, correlatable: true, cardinality: 1 }, problems);
  return problems;
}

function walk(n: SchemaNode, at: Place, problems: string[]): void {
  const s = n.spec;
  const report = (msg: string) => problems.push(`${at.path}: ${msg}`);
  if (!s.description || !s.description.trim()) report('every field needs a description (kubectl explain shows it)');
  switch (s.kind) {
    case 'string':
      checkString(s, report);
      break;
    case 'integer':
    case 'number':
      checkNumber(s, report);
      break;
    case 'intOrString':
      if (s.pattern) checkPattern(s.pattern, report);
      break;
    case 'object':
      checkObject(s, report);
      for (const [key, child] of Object.entries(s.properties ?? {})) {
        if (!/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) report(`property name ${JSON.stringify(key)} is not a plain identifier`);
        walk(child, { ...at, path: `${at.path}.${key}` }, problems);
      }
      break;
    case 'array': {
      checkArray(s, report);
      const inner = mul(at.cardinality, s.maxItems);
      walk(s.items!, { path: `${at.path}[*]`, correlatable: at.correlatable && s.listType === 'map', cardinality: inner }, problems);
      break;
    }
    case 'map':
      if (s.minProperties !== undefined && s.maxProperties !== undefined && s.minProperties > s.maxProperties) {
        report(`minProperties ${s.minProperties} is greater than maxProperties ${s.maxProperties}`);
      }
      walk(s.values!, { ...at, path: `${at.path}[*]`, cardinality: mul(at.cardinality, s.maxProperties) }, problems);
      break;
    case 'raw':
      checkRawStructural(s.raw!, at.path, problems);
      break;
    default:
      break;
  }
  if (s.default !== undefined) {
    for (const p of valueProblems(n, s.default, 'default')) report(p);
  }
  if (s.example !== undefined) {
    for (const p of valueProblems(n, s.example, 'example')) report(p);
  }
  s.rules.forEach((r, i) => checkRule(n, r, i, at, report));
}

function mul(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a * b;
}

function checkString(s: NodeSpec, report: (m: string) => void): void {
  if (s.minLength !== undefined && s.maxLength !== undefined && s.minLength > s.maxLength) {
    report(`minLength ${s.minLength} is greater than maxLength ${s.maxLength}`);
  }
  if (s.pattern) checkPattern(s.pattern, report);
  if (s.format && !STRING_FORMATS.has(s.format)) report(`format ${JSON.stringify(s.format)} is not one kube-apiserver knows`);
  if (s.enum) checkEnum(s.enum, 'string', report);
}

function checkPattern(pattern: string, report: (m: string) => void): void {
  try {
    new RegExp(pattern, 'u');
  } catch (e) {
    report(`pattern ${JSON.stringify(pattern)} does not compile: ${(e as Error).message}`);
  }
  // RE2 (the API server's engine) has no lookaround or backreferences.
  if (/\(\?[=!<]|\\[1-9]/.test(pattern)) report(`pattern ${JSON.stringify(pattern)} uses lookaround or backreferences, which RE2 does not support`);
}

function checkEnum(values: readonly (string | number)[], type: 'string' | 'integer', report: (m: string) => void): void {
  if (values.length === 0) report('enum must list at least one value');
  const seen = new Set<string | number>();
  for (const v of values) {
    if (type === 'string' && typeof v !== 'string') {
      report(`enum value ${JSON.stringify(v)} is a ${typeof v} but the field is a string: no value could ever match it`);
    }
    if (seen.has(v)) report(`enum value ${JSON.stringify(v)} is listed twice`);
    seen.add(v);
  }
}

function checkNumber(s: NodeSpec, report: (m: string) => void): void {
  if (s.minimum !== undefined && s.maximum !== undefined && s.minimum > s.maximum) {
    report(`minimum ${s.minimum} is greater than maximum ${s.maximum}`);
  }
  if (s.kind === 'integer') {
    for (const [name, v] of [['minimum', s.minimum], ['maximum', s.maximum]] as const) {
      if (v !== undefined && !Number.isInteger(v)) report(`${name} ${v} is not an integer`);
      if (v !== undefined && s.format === 'int32' && (v < INT32_MIN || v > INT32_MAX)) report(`${name} ${v} is outside int32`);
    }
  }
  if (s.multipleOf !== undefined && !(s.multipleOf > 0)) report(`multipleOf must be positive, got ${s.multipleOf}`);
}

function checkObject(s: NodeSpec, report: (m: string) => void): void {
  const props = s.properties ?? {};
  for (const r of s.required ?? []) {
    if (!(r in props)) report(`required property ${JSON.stringify(r)} is not declared`);
  }
  if (s.minProperties !== undefined && s.maxProperties !== undefined && s.minProperties > s.maxProperties) {
    report(`minProperties ${s.minProperties} is greater than maxProperties ${s.maxProperties}`);
  }
}

function checkArray(s: NodeSpec, report: (m: string) => void): void {
  if (s.minItems !== undefined && s.maxItems !== undefined && s.minItems > s.maxItems) {
    report(`minItems ${s.minItems} is greater than maxItems ${s.maxItems}`);
  }
  const item = s.items!.spec;
  if (s.listType === 'map') {
    if (!s.listMapKeys || s.listMapKeys.length === 0) report('x-kubernetes-list-type map needs listMapKeys');
    if (item.kind !== 'object') report('x-kubernetes-list-type map needs object items');
    for (const k of s.listMapKeys ?? []) {
      const key = item.properties?.[k];
      if (!key) report(`list map key ${JSON.stringify(k)} is not a property of the items`);
      else if (!['string', 'integer', 'number', 'boolean'].includes(key.spec.kind)) report(`list map key ${JSON.stringify(k)} must be a scalar`);
      else if (!(item.required ?? []).includes(k) && key.spec.default === undefined) {
        report(`list map key ${JSON.stringify(k)} must be required or have a default`);
      }
    }
  } else if (s.listMapKeys) {
    report('listMapKeys only apply to x-kubernetes-list-type map');
  }
  if (s.listType === 'set' && !['string', 'integer', 'number', 'boolean'].includes(item.kind)) {
    report('x-kubernetes-list-type set needs scalar items');
  }
}

/** Checks a hand-written schema against the structural-schema rules of apiextensions.k8s.io/v1. */
function checkRawStructural(s: JSONSchemaProps, path: string, problems: string[]): void {
  const report = (m: string) => problems.push(`${path}: ${m}`);
  if (s.uniqueItems) report('uniqueItems is refused by kube-apiserver; use x-kubernetes-list-type: set');
  if (s.additionalProperties === false) report('additionalProperties: false is refused by kube-apiserver (unknown fields are pruned anyway)');
  if (s.properties && s.additionalProperties !== undefined) report('properties and additionalProperties cannot be used together');
  const intOrString = s['x-kubernetes-int-or-string'];
  const preserve = s['x-kubernetes-preserve-unknown-fields'];
  if (!s.type && !intOrString && !preserve) report('every schema node needs a type (structural schema)');
  for (const [k, v] of Object.entries(s.properties ?? {})) checkRawStructural(v, `${path}.${k}`, problems);
  if (s.items) checkRawStructural(s.items, `${path}[*]`, problems);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    checkRawStructural(s.additionalProperties, `${path}[*]`, problems);
  }
}

function checkRule(n: SchemaNode, r: ValidationRule, i: number, at: Place, report: (m: string) => void): void {
  const where = `x-kubernetes-validations[${i}] ${JSON.stringify(r.rule)}`;
  if (!r.rule || !r.rule.trim()) report(`${where}: rule is empty`);
  if (r.message === undefined && r.messageExpression === undefined) {
    report(`${where}: give a message or a messageExpression, so users see more than the rule text`);
  }
  if (r.message !== undefined && r.messageExpression !== undefined) {
    report(`${where}: message and messageExpression are both set; the API server would ignore the message`);
  }
  if (r.message !== undefined) {
    if (!r.message.trim()) report(`${where}: message is blank`);
    if (/[\r\n]/.test(r.message)) report(`${where}: message must not contain line breaks`);
  }
  if (r.messageExpression !== undefined && !r.messageExpression.trim()) report(`${where}: messageExpression is blank`);
  if (r.reason !== undefined && !RULE_REASONS.includes(r.reason)) {
    report(`${where}: reason ${JSON.stringify(r.reason)} is not one of ${RULE_REASONS.join(', ')}`);
  }
  if (r.fieldPath !== undefined) {
    if (!FIELD_PATH.test(r.fieldPath)) report(`${where}: fieldPath ${JSON.stringify(r.fieldPath)} is not a relative JSON path like .spec.name`);
    else if (!resolveFieldPath(n, r.fieldPath)) report(`${where}: fieldPath ${JSON.stringify(r.fieldPath)} does not name a field of this object`);
  }
  const transition = /\boldSelf\b/.test(r.rule);
  if (r.optionalOldSelf && !transition) report(`${where}: optionalOldSelf is set but the rule does not use oldSelf`);
  if (transition && !at.correlatable) {
    report(`${where}: oldSelf cannot be used inside a list that is not x-kubernetes-list-type map (old and new items cannot be paired)`);
  }
  for (const ref of selfReferences(r.rule)) {
    const missing = missingSegment(n, ref);
    if (missing) report(`${where}: ${missing}`);
  }
  for (const p of estimateRuleProblems(n, r.rule, at.cardinality)) report(`${where}: ${p}`);
}

/** `self.a.b` chains used by a rule, as lists of segments. */
function selfReferences(rule: string): string[][] {
  const out: string[][] = [];
  for (const m of rule.matchAll(/\b(?:self|oldSelf)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
    out.push(m[1].slice(1).split('.'));
  }
  return out;
}

const MEMBER_FUNCTIONS = new Set([
  'all', 'exists', 'exists_one', 'map', 'filter', 'size', 'contains', 'startsWith', 'endsWith', 'matches', 'find',
  'findAll', 'split', 'lowerAscii', 'upperAscii', 'trim', 'replace', 'indexOf', 'lastIndexOf', 'substring', 'join',
  'isSorted', 'sum', 'min', 'max', 'charAt', 'format', 'orValue', 'value', 'hasValue',
]);

/** Describes the first segment of `segments` that does not exist under `n`, or undefined when all do. */
function missingSegment(n: SchemaNode, segments: string[]): string | undefined {
  let cur: SchemaNode | undefined = n;
  for (const seg of segments) {
    if (!cur) return undefined;
    const s: NodeSpec = cur.spec;
    if (s.kind !== 'object') return undefined; // maps, preserve-unknown and functions: cannot tell statically
    if (MEMBER_FUNCTIONS.has(seg) && !(s.properties ?? {})[seg]) return undefined;
    const name = unescapeCel(seg);
    const next: SchemaNode | undefined = (s.properties ?? {})[name];
    if (!next) {
      const known = Object.keys(s.properties ?? {});
      const hint = closest(name, known);
      return `self.${segments.join('.')} refers to ${JSON.stringify(name)}, which is not a property here` +
        (hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ` (known: ${known.join(', ')})`);
    }
    cur = next;
  }
  return undefined;
}

function unescapeCel(id: string): string {
  const m = /^__(.+)__$/.exec(id);
  if (m && !m[1].includes('__')) return m[1];
  return id.replace(/__dash__/g, '-').replace(/__dot__/g, '.').replace(/__slash__/g, '/').replace(/__underscores__/g, '__');
}

function resolveFieldPath(n: SchemaNode, fieldPath: string): boolean {
  let cur: SchemaNode | undefined = n;
  for (const m of fieldPath.matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]|\[([0-9]+)\]/g)) {
    if (!cur) return false;
    const s: NodeSpec = cur.spec;
    if (m[3] !== undefined) {
      if (s.kind !== 'array') return false;
      cur = s.items;
    } else {
      const key = m[1] ?? m[2];
      if (s.kind === 'object') cur = s.properties?.[key];
      else if (s.kind === 'map') cur = s.values;
      else return s.kind === 'preserveUnknown' || s.kind === 'raw';
    }
  }
  return cur !== undefined;
}

/** Edit distance, to suggest the intended name in errors. */
function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/**
 * Problems with a literal value (a default or an example) against the node's
 * own constraints. The API server validates defaults the same way, so a bad
 * default would make the CRD unusable.
 */
export function valueProblems(n: SchemaNode, v: unknown, what: string, path = ''): string[] {
  const s = n.spec;
  const at = path ? `${what} at ${path}` : what;
  const out: string[] = [];
  if (v === null) return s.nullable ? [] : [`${at} is null but the field is not nullable`];
  switch (s.kind) {
    case 'string':
      if (typeof v !== 'string') return [`${at} ${JSON.stringify(v)} is not a string`];
      if (s.enum && !s.enum.includes(v)) out.push(`${at} ${JSON.stringify(v)} is not one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
      if (s.maxLength !== undefined && [...v].length > s.maxLength) out.push(`${at} is longer than maxLength ${s.maxLength}`);
      if (s.minLength !== undefined && [...v].length < s.minLength) out.push(`${at} is shorter than minLength ${s.minLength}`);
      if (s.pattern && !safeTest(s.pattern, v)) out.push(`${at} ${JSON.stringify(v)} does not match ${s.pattern}`);
      break;
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || (s.kind === 'integer' && !Number.isInteger(v))) return [`${at} ${JSON.stringify(v)} is not an ${s.kind}`];
      if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) out.push(`${at} ${v} is below the minimum ${s.minimum}`);
      if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) out.push(`${at} ${v} is above the maximum ${s.maximum}`);
      break;
    case 'boolean':
      if (typeof v !== 'boolean') out.push(`${at} ${JSON.stringify(v)} is not a boolean`);
      break;
    case 'intOrString':
      if (typeof v === 'number' ? !Number.isInteger(v) : typeof v !== 'string') out.push(`${at} ${JSON.stringify(v)} is neither an integer nor a string`);
      else if (typeof v === 'string' && s.pattern && !safeTest(s.pattern, v)) out.push(`${at} ${JSON.stringify(v)} does not match ${s.pattern}`);
      break;
    case 'object': {
      if (typeof v !== 'object' || Array.isArray(v)) return [`${at} is not an object`];
      const props = s.properties ?? {};
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (!(k in props)) out.push(`${at} has ${JSON.stringify(k)}, which is not a property and would be pruned`);
        else out.push(...valueProblems(props[k], child, what, `${path}.${k}`));
      }
      for (const r of s.required ?? []) {
        if (!(r in (v as object)) && props[r]?.spec.default === undefined) out.push(`${at} lacks required ${JSON.stringify(r)}`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(v)) return [`${at} is not a list`];
      if (s.maxItems !== undefined && v.length > s.maxItems) out.push(`${at} has more than maxItems ${s.maxItems}`);
      if (s.minItems !== undefined && v.length < s.minItems) out.push(`${at} has fewer than minItems ${s.minItems}`);
      v.forEach((item, i) => out.push(...valueProblems(s.items!, item, what, `${path}[${i}]`)));
      break;
    case 'map':
      if (typeof v !== 'object' || Array.isArray(v)) return [`${at} is not an object`];
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) out.push(...valueProblems(s.values!, child, what, `${path}[${k}]`));
      break;
    default:
      break;
  }
  return out;
}

function safeTest(pattern: string, v: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(v);
  } catch {
    return true; // reported by checkPattern
  }
}
