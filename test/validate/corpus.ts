/**
 * Builds validation cases from the schema DSL itself: one valid object per
 * kind with every field set, then for every constraint a mutation that breaks
 * it, plus boundary values that must still pass. Used by the parity test
 * (against kube-apiserver) and the fuzzer.
 */
import type { KindDefinition, SchemaNode, ValidationRule } from '../../src/schema';

/** A valid value for every pattern our CRDs use; a new pattern must be added here. */
export const PATTERN_SAMPLES: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$': 'a1',
  '^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$': '1m30s',
  '^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$': '10.1.2.3',
  '^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$': '52:54:00:ab:cd:ef',
  '^[a-zA-Z0-9-_]+$': 'nvidia-a100',
  '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$': 'Ready',
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$': 'Ready',
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$': '4Gi',
  '^https?://.*': 'https://images.example.com/a.img',
  '^(https?|ftp)://.*': 'https://images.example.com/a.img',
  '^[a-zA-Z0-9._/-]+:[a-zA-Z0-9._-]+$': 'library/ubuntu:22.04',
  '^https?://.*\\.(ova|ovf)$': 'https://images.example.com/a.ova',
  '^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)/([0-9]|[1-2][0-9]|3[0-2])$': '10.1.0.0/24',
  '^vmbr[0-9]+$': 'vmbr0',
  '^((https?://[a-zA-Z0-9.-]+(:[0-9]+)?(/.*)?|(tcp|grpc)://[a-zA-Z0-9.-]+:[0-9]+(/.*)?)|qemu(\\+ssh|\\+tcp|\\+tls)?://([a-zA-Z0-9@.-]+(:[0-9]+)?)?(/.*)|firecracker:///.*)$': 'https://vcenter.example.com/sdk',
  '^[a-zA-Z0-9._/-]+(:[a-zA-Z0-9._-]+)?(@[a-zA-Z0-9]+:[a-fA-F0-9]{64})?$': 'ghcr.io/example/provider:v1',
  '^(@(annually|yearly|monthly|weekly|daily|hourly|reboot))|(@every (\\d+(ns|us|µs|ms|s|m|h))+)|((((\\d+,)+\\d+|(\\d+(\\/|-)\\d+)|\\d+|\\*) ?){5,7})$': '0 2 * * *',
  '^[a-zA-Z0-9]([a-zA-Z0-9\\-_]*[a-zA-Z0-9])?$': 'snap-1',
  '^[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?$': 'host-1',
  '^[0-9]+(\\.[0-9]+)?(Ei?|Pi?|Ti?|Gi?|Mi?|Ki?)$': '10Gi',
};

/** Fields our helper rules keep apart: only the first of each group is set in the valid object. */
function excludedByRules(rules: readonly ValidationRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    const exclusive = /^!\(has\(self\.(\w+)\) && has\(self\.(\w+)\)\)$/.exec(r.rule);
    if (exclusive) out.add(exclusive[2]);
    const counted = /^(\(has\(self\.\w+\) \? 1 : 0\)(?: \+ \(has\(self\.\w+\) \? 1 : 0\))+) (==|<=) 1$/.exec(r.rule);
    if (counted) [...counted[1].matchAll(/has\(self\.(\w+)\)/g)].slice(1).forEach((m) => out.add(m[1]));
  }
  return out;
}

/** A valid value for a node, with every optional field set (depth-bounded). */
export function sampleValue(node: SchemaNode, path: string, depth = 0): unknown {
  const s = node.spec;
  if (s.default !== undefined) return structuredClone(s.default);
  switch (s.kind) {
    case 'string': {
      if (s.enum) return s.enum[0];
      if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (s.pattern) {
        const v = PATTERN_SAMPLES[s.pattern];
        if (v === undefined) throw new Error(`${path}: no sample for pattern ${s.pattern}; add one to PATTERN_SAMPLES`);
        return v;
      }
      const len = Math.max(s.minLength ?? 1, 1);
      return 'v'.repeat(Math.min(len, s.maxLength ?? len));
    }
    case 'integer':
      return Math.max(s.minimum ?? 1, 1) <= (s.maximum ?? Infinity) ? Math.max(s.minimum ?? 1, 1) : s.maximum;
    case 'number':
      return s.minimum ?? 1.5;
    case 'boolean':
      return true;
    case 'intOrString':
      return s.pattern ? PATTERN_SAMPLES[s.pattern] : 1;
    case 'object': {
      const out: Record<string, unknown> = {};
      const skip = excludedByRules(s.rules);
      for (const [k, child] of Object.entries(s.properties ?? {})) {
        if (skip.has(k)) continue;
        if (depth > 12 && !(s.required ?? []).includes(k)) continue;
        out[k] = sampleValue(child, `${path}.${k}`, depth + 1);
      }
      return out;
    }
    case 'map':
      return { key1: sampleValue(s.values!, `${path}[key1]`, depth + 1) };
    case 'array': {
      const n = Math.max(s.minItems ?? 1, 1);
      return Array.from({ length: n }, (_, i) => {
        const item = sampleValue(s.items!, `${path}[${i}]`, depth + 1);
        // Keep list-map keys and uniqueBy names distinct.
        if (i > 0 && item && typeof item === 'object' && 'name' in item) (item as Record<string, unknown>).name = `${(item as Record<string, unknown>).name}${i}`;
        return item;
      });
    }
    case 'preserveUnknown':
      return { anything: 'goes' };
    default:
      return {};
  }
}

/** The valid base object of a kind, named `name`. */
export function baseObject(kind: KindDefinition, name = 'sample'): Record<string, unknown> {
  const specNode = kind.props.spec as SchemaNode;
  return { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name }, spec: sampleValue(specNode, 'spec') };
}

/** One validation case: an object, how to submit it, and why it exists. */
export interface Case {
  readonly id: string;
  readonly object: Record<string, unknown>;
  readonly strict?: boolean;
  /** For transition rules: the object stored first, then `object` as an update. */
  readonly old?: Record<string, unknown>;
}

type Mutation = { id: string; apply: (target: Record<string, unknown>) => void };

/** Every constraint of the spec, broken once, plus boundary values. */
export function casesFor(kind: KindDefinition): Case[] {
  const base = baseObject(kind);
  const cases: Case[] = [{ id: `${kind.kind}: valid with every field set`, object: base }];
  const muts: Mutation[] = [];
  collect(kind.props.spec as SchemaNode, ['spec'], base.spec, muts);
  for (const m of muts) {
    const object = structuredClone(base);
    m.apply(object);
    cases.push({ id: `${kind.kind}: ${m.id}`, object });
  }
  cases.push({ id: `${kind.kind}: unknown field, strict`, object: withExtra(base), strict: true });
  cases.push({ id: `${kind.kind}: unknown field, not strict`, object: withExtra(base) });
  cases.push(...transitionCases(kind, base));
  return cases;
}

function withExtra(base: Record<string, unknown>): Record<string, unknown> {
  const o = structuredClone(base);
  (o.spec as Record<string, unknown>).notAField = 1;
  return o;
}

function at(obj: Record<string, unknown>, path: (string | number)[]): { parent: any; key: string | number } {
  let cur: any = obj;
  for (const seg of path.slice(0, -1)) cur = cur[seg];
  return { parent: cur, key: path[path.length - 1] };
}

const show = (p: (string | number)[]) => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

/** Walks the schema next to the sample value and records one mutation per constraint. */
function collect(node: SchemaNode, path: (string | number)[], value: unknown, out: Mutation[]): void {
  const s = node.spec;
  const p = show(path);
  const set = (id: string, v: unknown) => out.push({ id: `${p}: ${id}`, apply: (o) => { const { parent, key } = at(o, path); parent[key] = structuredClone(v); } });
  switch (s.kind) {
    case 'string':
      set('wrong type (number)', 12);
      if (s.enum) set('value outside the enum', 'NotInTheEnum');
      if (s.maxLength !== undefined) {
        set('at maxLength', 'a'.repeat(s.maxLength));
        set('over maxLength', 'a'.repeat(s.maxLength + 1));
      }
      if (s.minLength) set('under minLength', '');
      if (s.pattern) set('breaks the pattern', 'Not Valid!');
      break;
    case 'integer':
      set('wrong type (string)', 'ten');
      set('fraction', 1.5);
      if (s.minimum !== undefined) {
        set('at minimum', s.minimum);
        set('below minimum', s.minimum - 1);
      }
      if (s.maximum !== undefined) {
        set('at maximum', s.maximum);
        set('above maximum', s.maximum + 1);
      }
      if (s.format === 'int32') set('beyond int32', 2147483648);
      break;
    case 'boolean':
      set('wrong type (string)', 'yes');
      break;
    case 'intOrString':
      set('wrong type (boolean)', true);
      if (s.pattern) set('breaks the pattern', 'lots');
      break;
    case 'object': {
      set('wrong type (string)', 'text');
      const obj = value as Record<string, unknown>;
      for (const r of s.required ?? []) {
        if (obj && r in obj) out.push({ id: `${p}.${r}: required field missing`, apply: (o) => { const { parent, key } = at(o, path); delete parent[key][r]; } });
      }
      for (const r of s.rules) ruleMutations(node, r, path, obj, out);
      for (const [k, child] of Object.entries(s.properties ?? {})) {
        if (obj && k in obj) collect(child, [...path, k], obj[k], out);
      }
      break;
    }
    case 'map': {
      set('wrong type (list)', ['x']);
      if (s.maxProperties !== undefined) {
        set('over maxProperties', Object.fromEntries(Array.from({ length: s.maxProperties + 1 }, (_, i) => [`k${i}`, sampleValue(s.values!, p)])));
      }
      const m = value as Record<string, unknown>;
      if (m) for (const k of Object.keys(m)) collect(s.values!, [...path, k], m[k], out);
      break;
    }
    case 'array': {
      const list = value as unknown[];
      set('wrong type (object)', { a: 1 });
      if (s.maxItems !== undefined && list?.length) {
        const items = Array.from({ length: s.maxItems + 1 }, (_, i) => renamed(list[0], i));
        set('over maxItems', items);
        set('at maxItems', items.slice(0, s.maxItems));
      }
      if (s.minItems) set('under minItems', []);
      for (const r of s.rules) ruleMutations(node, r, path, list, out);
      if (list?.length) collect(s.items!, [...path, 0], list[0], out);
      break;
    }
    default:
      break;
  }
}

function renamed(item: unknown, i: number): unknown {
  const copy = structuredClone(item);
  if (copy && typeof copy === 'object' && 'name' in copy) (copy as Record<string, unknown>).name = `n${i}`;
  if (typeof copy === 'string') return `${copy}${i}`.slice(0, 60);
  return copy;
}

/** Violations of our helper rules at one node. */
function ruleMutations(node: SchemaNode, r: ValidationRule, path: (string | number)[], value: unknown, out: Mutation[]): void {
  const p = show(path);
  const props = node.spec.properties ?? {};
  const exclusive = /^!\(has\(self\.(\w+)\) && has\(self\.(\w+)\)\)$/.exec(r.rule);
  const counted = /^(\(has\(self\.\w+\) \? 1 : 0\)(?: \+ \(has\(self\.\w+\) \? 1 : 0\))+) (==|<=) 1$/.exec(r.rule);
  const fields = exclusive ? [exclusive[1], exclusive[2]] : counted ? [...counted[1].matchAll(/has\(self\.(\w+)\)/g)].map((m) => m[1]) : [];
  if (fields.length >= 2) {
    out.push({ id: `${p}: rule "${r.message}" broken by setting ${fields[0]} and ${fields[1]}`, apply: (o) => {
      const { parent, key } = at(o, path);
      const target = parent[key] as Record<string, unknown>;
      for (const f of fields.slice(0, 2)) target[f] ??= sampleValue(props[f], `${p}.${f}`);
    } });
    if (counted?.[2] === '==') {
      out.push({ id: `${p}: rule "${r.message}" broken by setting none`, apply: (o) => {
        const { parent, key } = at(o, path);
        for (const f of fields) delete (parent[key] as Record<string, unknown>)[f];
      } });
    }
  }
  const unique = /^self\.all\(x, self\.exists_one\(y, y\.(\w+) == x\.(\w+)\)\)$/.exec(r.rule);
  if (unique && Array.isArray(value) && value.length) {
    out.push({ id: `${p}: rule "${r.message}" broken by a duplicate`, apply: (o) => {
      const { parent, key } = at(o, path);
      (parent[key] as unknown[]).push(structuredClone((parent[key] as unknown[])[0]));
    } });
  }
}

/** Updates that change what must not change, and one that may change. */
function transitionCases(kind: KindDefinition, base: Record<string, unknown>): Case[] {
  const cases: Case[] = [];
  const spec = kind.props.spec as SchemaNode;
  for (const [k, child] of Object.entries(spec.spec.properties ?? {})) {
    if (!child.spec.rules.some((r) => r.rule === 'self == oldSelf')) continue;
    const object = structuredClone(base);
    const v = (object.spec as Record<string, unknown>)[k] as Record<string, unknown>;
    if (!v || typeof v !== 'object') continue;
    mutateFirstString(v);
    cases.push({ id: `${kind.kind}: update changes immutable spec.${k}`, object, old: base });
  }
  for (const r of spec.spec.rules) {
    const m = /^has\(self\.(\w+)\) == has\(oldSelf\.(\w+)\)$/.exec(r.rule);
    if (!m) continue;
    const object = structuredClone(base);
    const specObj = object.spec as Record<string, unknown>;
    if (m[1] in specObj) delete specObj[m[1]];
    else continue;
    cases.push({ id: `${kind.kind}: update removes spec.${m[1]}`, object, old: base });
  }
  return cases;
}

function mutateFirstString(o: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') {
      o[k] = v === 'a1' ? 'b2' : 'a1';
      return true;
    }
    if (v && typeof v === 'object' && !Array.isArray(v) && mutateFirstString(v as Record<string, unknown>)) return true;
  }
  return false;
}
