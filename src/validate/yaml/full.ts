/**
 * Full-YAML path: the `yaml` package parses the document (YAML 1.1 mode,
 * failsafe schema so that it resolves nothing itself), then this module
 * builds the value with go-yaml v2 semantics (scalars.ts): tags, anchors and
 * aliases (copied, under an expansion budget), merge keys, key conversion,
 * duplicate keys, depth limit. Used for every document the fast path
 * declines.
 *
 * go-yaml v2 merge semantics (decode.go, non-strict Unmarshal as kubectl
 * uses it): entries are applied in document order and later ones overwrite,
 * so an explicit key after `<<` wins, a `<<` after an explicit key
 * overwrites it; in `<<: [*a, *b]` the earlier map wins. Duplicate explicit
 * keys are a 'duplicate-key' error; keys brought in by a merge never are.
 */

import * as YAML from 'yaml';
import { DecodeFailure, Limits } from './types';
import { K_STR, K_NULL, R, TAG_PREFIX, jsonValue, keyString, resolvePlain, resolveTagged } from './scalars';
import { cloneCounted, isPlainObject, setOwn } from './objects';
import { LineIndex } from './positions';

const PARSE_OPTIONS = {
  version: '1.1',
  schema: 'failsafe',
  uniqueKeys: false,
  merge: false,
  keepSourceTokens: true,
  prettyErrors: false,
  strict: true,
} as const;

const MERGE_TAG = TAG_PREFIX + 'merge';

interface Anchor {
  value: unknown;
  height: number;
  /** Scalars: go-yaml kind and raw value (for use as a key). */
  kind: number;
  raw: unknown;
  done: boolean;
}

type Node = YAML.Node | YAML.Pair | null | undefined;

class Builder {
  private anchors = new Map<string, Anchor>();
  private budget: { left: number };
  /** Height of the node converted last (0 for a scalar). */
  private h = 0;
  /** go-yaml kind and raw value of the scalar converted last. */
  private sk = K_NULL;
  private sraw: unknown = null;

  constructor(private readonly lim: Limits, private readonly base: number, private readonly lines: LineIndex) {
    this.budget = { left: lim.maxAliasExpansion };
  }

  fail(rule: string, message: string, node: Node): DecodeFailure {
    const range = node && 'range' in node ? (node as YAML.Node).range : undefined;
    return new DecodeFailure(rule, message, range ? this.base + range[0] : -1);
  }

  convert(node: Node, depth: number): unknown {
    if (node === null || node === undefined) {
      this.h = 0;
      this.sk = K_NULL;
      this.sraw = null;
      return null;
    }
    if (YAML.isScalar(node)) return this.scalar(node);
    if (YAML.isAlias(node)) return this.alias(node, depth);
    if (depth + 1 > this.lim.maxDepth) {
      throw this.fail('depth-limit', `nesting exceeds the limit of ${this.lim.maxDepth} levels`, node);
    }
    let anchor: Anchor | undefined;
    const name = (node as YAML.Node).anchor;
    if (name) {
      anchor = { value: undefined, height: 0, kind: -1, raw: undefined, done: false };
      this.anchors.set(name, anchor);
    }
    let value: unknown;
    let height = 0;
    if (YAML.isSeq(node)) {
      const out: unknown[] = [];
      for (const item of node.items as Node[]) {
        if (YAML.isPair(item)) {
          // [a: 1] — a single-pair mapping inside a flow sequence
          const m: Record<string, unknown> = {};
          if (depth + 2 > this.lim.maxDepth) {
            throw this.fail('depth-limit', `nesting exceeds the limit of ${this.lim.maxDepth} levels`, node);
          }
          this.entry(m, item, depth + 1, new Map());
          out.push(m);
          height = Math.max(height, this.h + 2);
        } else {
          out.push(this.convert(item, depth + 1));
          height = Math.max(height, this.h + 1);
        }
      }
      value = out;
    } else if (YAML.isMap(node)) {
      const out: Record<string, unknown> = {};
      const seen = new Map<string, number>();
      for (const pair of node.items as YAML.Pair[]) {
        this.entry(out, pair, depth + 1, seen);
        height = Math.max(height, this.h + 1);
      }
      value = out;
    } else if (YAML.isPair(node)) {
      const out: Record<string, unknown> = {};
      this.entry(out, node, depth + 1, new Map());
      height = this.h + 1;
      value = out;
    } else {
      throw this.fail('yaml-syntax', 'unsupported YAML node', node);
    }
    this.h = height;
    if (anchor) {
      anchor.value = value;
      anchor.height = height;
      anchor.done = true;
    }
    return value;
  }

  private scalar(node: YAML.Scalar, asKey = false): unknown {
    this.h = 0;
    const type = node.type;
    const tag = node.tag;
    let text: string;
    if (type === 'PLAIN') {
      text = typeof node.source === 'string' ? node.source : String(node.value ?? '');
    } else {
      text = String(node.value ?? '');
      if (type === 'QUOTE_DOUBLE') {
        this.checkEscapes(node);
        const raw = (node.srcToken as { source?: string } | undefined)?.source;
        // YAML 1.2 (the yaml package) has no \' escape; libyaml has: decode it ourselves
        if (raw && raw.indexOf("\\'") >= 0) text = decodeDoubleQuoted(raw);
      }
    }
    let kind: number;
    if (tag && tag !== '!') kind = this.guard(() => resolveTagged(tag, text), node);
    else if (type === 'PLAIN' && !tag) kind = resolvePlain(text);
    else {
      kind = K_STR;
      this.sk = K_STR;
      this.sraw = text;
      this.record(node, text, K_STR, text);
      return text;
    }
    const raw = R.v;
    this.sk = kind;
    this.sraw = raw;
    if (asKey) {
      if (node.anchor) {
        try {
          this.record(node, jsonValue(kind, raw), kind, raw);
        } catch {
          // a .inf/.nan key anchor: usable as a key only
          this.anchors.set(node.anchor, { value: raw, height: 0, kind, raw, done: true });
        }
      }
      return raw;
    }
    const value = this.guard(() => jsonValue(kind, raw), node);
    this.record(node, value, kind, raw);
    return value;
  }

  private record(node: YAML.Scalar, value: unknown, kind: number, raw: unknown): void {
    if (node.anchor) this.anchors.set(node.anchor, { value, height: 0, kind, raw, done: true });
  }

  private guard<T>(f: () => T, node: Node): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeFailure && e.offset < 0) throw this.fail(e.rule, e.message, node);
      throw e;
    }
  }

  /** libyaml knows fewer escapes than YAML 1.2 (no `\/`) and rejects surrogate code points. */
  private checkEscapes(node: YAML.Scalar): void {
    const src = (node.srcToken as { source?: string } | undefined)?.source;
    if (!src || src.indexOf('\\') < 0) return;
    for (let i = 1; i < src.length - 1; i++) {
      if (src.charCodeAt(i) !== 92) continue;
      const e = src[i + 1]!;
      if ('0abt\tnvfre "\'\\N_LP\n\r'.includes(e)) {
        i++;
        continue;
      }
      const n = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (n === 0) throw this.fail('yaml-syntax', 'found unknown escape character while parsing a quoted scalar', node);
      const hex = src.slice(i + 2, i + 2 + n);
      const v = /^[0-9a-fA-F]+$/.test(hex) && hex.length === n ? parseInt(hex, 16) : -1;
      if (v < 0) throw this.fail('yaml-syntax', 'did not find expected hexdecimal number while parsing a quoted scalar', node);
      if ((v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
        throw this.fail('yaml-syntax', 'found invalid Unicode character escape code while parsing a quoted scalar', node);
      }
      i += 1 + n;
    }
  }

  private lookup(node: YAML.Alias): Anchor {
    const a = this.anchors.get(node.source);
    if (!a) throw this.fail('yaml-syntax', `unknown anchor '${node.source}' referenced`, node);
    if (!a.done) throw this.fail('yaml-syntax', `anchor '${node.source}' value contains itself`, node);
    return a;
  }

  private alias(node: YAML.Alias, depth: number): unknown {
    const a = this.lookup(node);
    this.h = a.height;
    this.sk = a.kind;
    this.sraw = a.raw;
    if (typeof a.value !== 'object' || a.value === null) {
      if (--this.budget.left < 0) throw this.aliasLimit(node);
      return a.value;
    }
    if (depth + a.height + 1 > this.lim.maxDepth) {
      throw this.fail('depth-limit', `nesting exceeds the limit of ${this.lim.maxDepth} levels`, node);
    }
    try {
      return cloneCounted(a.value, this.budget, `${this.lim.maxAliasExpansion} nodes`);
    } catch (e) {
      if (e instanceof DecodeFailure) throw this.aliasLimit(node);
      throw e;
    }
  }

  private aliasLimit(node: Node): DecodeFailure {
    return this.fail(
      'alias-limit',
      `aliases expand to more than ${this.lim.maxAliasExpansion} nodes (maxAliasExpansion)`,
      node,
    );
  }

  private entry(out: Record<string, unknown>, pair: YAML.Pair, depth: number, seen: Map<string, number>): void {
    const k = pair.key as Node;
    if (
      YAML.isScalar(k) &&
      k.type === 'PLAIN' &&
      (k.source === '<<' || k.value === '<<') &&
      (!k.tag || k.tag === MERGE_TAG)
    ) {
      this.merge(out, pair.value as Node, depth);
      return;
    }
    const key = this.key(k, pair);
    const value = this.convert(pair.value as Node, depth);
    const at = k && 'range' in k && (k as YAML.Node).range ? this.base + (k as YAML.Node).range![0] : -1;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new DecodeFailure('duplicate-key', `mapping key ${JSON.stringify(key)} already defined at line ${first}`, at);
    }
    seen.set(key, at >= 0 ? this.lines.at(at).line : 0);
    setOwn(out, key, value);
  }

  private key(k: Node, pair: YAML.Pair): string {
    if (k === null || k === undefined) {
      throw this.fail('yaml-syntax', 'unsupported map key of type: <nil> (a null key has no JSON form)', pair.value as Node);
    }
    if (YAML.isScalar(k)) {
      this.scalar(k, true);
      const kind = this.sk;
      const raw = this.sraw;
      return kind === K_STR ? (raw as string) : this.guard(() => keyString(kind, raw), k);
    }
    if (YAML.isAlias(k)) {
      const a = this.lookup(k);
      if (typeof a.value === 'object' && a.value !== null) {
        throw this.fail('yaml-syntax', 'invalid map key: a mapping or sequence cannot be a key', k);
      }
      return a.kind === K_STR ? (a.raw as string) : this.guard(() => keyString(a.kind, a.raw), k);
    }
    throw this.fail('yaml-syntax', 'invalid map key: a mapping or sequence cannot be a key', k);
  }

  private merge(out: Record<string, unknown>, v: Node, depth: number): void {
    const wantMap = (): DecodeFailure => this.fail('yaml-syntax', 'map merge requires map or sequence of maps as the value', v);
    const one = (n: Node): void => {
      let src: unknown;
      if (YAML.isMap(n)) src = this.convert(n, depth - 1);
      else if (YAML.isAlias(n)) {
        const a = this.lookup(n);
        if (!isPlainObject(a.value)) throw wantMap();
        src = this.alias(n, depth - 1);
      } else throw wantMap();
      for (const key of Object.keys(src as Record<string, unknown>)) setOwn(out, key, (src as Record<string, unknown>)[key]);
    };
    if (YAML.isSeq(v)) {
      const items = v.items as Node[];
      for (const it of items) if (!YAML.isMap(it) && !YAML.isAlias(it)) throw wantMap();
      for (let i = items.length - 1; i >= 0; i--) one(items[i]);
    } else one(v);
    this.h = 0;
  }
}

/**
 * Decode one document's text (text[start, end)) with the `yaml` package.
 * Offsets in failures are absolute (into `text`). Returns the value (null for
 * an empty document).
 */
export function fullDecode(text: string, start: number, end: number, lim: Limits, lines: LineIndex): unknown {
  const src = text.slice(start, end);
  let docs: YAML.Document.Parsed[];
  try {
    docs = YAML.parseAllDocuments(src, PARSE_OPTIONS) as unknown as YAML.Document.Parsed[];
  } catch (e) {
    if (e instanceof RangeError) throw new DecodeFailure('depth-limit', `nesting exceeds what the parser can handle`, start);
    throw new DecodeFailure('yaml-syntax', `cannot parse YAML: ${String((e as Error).message).split('\n')[0]}`, start);
  }
  if (!Array.isArray(docs) || docs.length === 0) {
    const errs = (docs as unknown as { errors?: YAML.YAMLError[] }).errors;
    if (errs && errs.length > 0) throw syntaxFailure(errs[0]!, start);
    return null;
  }
  // go-yaml (yaml.Unmarshal) decodes only the first document of the chunk
  const doc = docs[0]!;
  // \' is a valid escape for libyaml (go-yaml), not for YAML 1.2: not an error here
  const errors = doc.errors.filter((e) => !(e.code === 'BAD_DQ_ESCAPE' && src.startsWith("\\'", e.pos[0])));
  if (errors.length > 0) throw syntaxFailure(errors[0]!, start);
  const b = new Builder(lim, start, lines);
  try {
    return b.convert(doc.contents as Node, 0);
  } catch (e) {
    if (e instanceof RangeError) throw new DecodeFailure('depth-limit', `nesting exceeds what the decoder can handle`, start);
    throw e;
  }
}

function syntaxFailure(err: YAML.YAMLError, base: number): DecodeFailure {
  const msg = String(err.message).split('\n')[0]!;
  if (/call stack/i.test(msg)) {
    return new DecodeFailure('depth-limit', 'nesting exceeds what the YAML parser can handle', base + (err.pos?.[0] ?? 0));
  }
  return new DecodeFailure('yaml-syntax', msg, base + (err.pos?.[0] ?? 0));
}

const DQ_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ',
  '"': '"', "'": "'", '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

/**
 * A double-quoted scalar's raw source (with the quotes) decoded as libyaml
 * does: escapes, line folding (one break -> space, n breaks -> n-1 newlines,
 * whitespace around breaks dropped), escaped line breaks joined. Escapes were
 * validated before (checkEscapes).
 */
export function decodeDoubleQuoted(raw: string): string {
  const s = raw.slice(1, -1);
  let out = '';
  let i = 0;
  const n = s.length;
  const isBreak = (c: string | undefined): boolean => c === '\n' || c === '\r';
  const skipBreak = (j: number): number => (s[j] === '\r' && s[j + 1] === '\n' ? j + 2 : j + 1);
  while (i < n) {
    const c = s[i]!;
    if (c === '\\') {
      const e = s[i + 1]!;
      if (isBreak(e)) {
        i = skipBreak(i + 1);
        while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
        continue;
      }
      const len = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (len > 0) {
        out += String.fromCodePoint(parseInt(s.slice(i + 2, i + 2 + len), 16));
        i += 2 + len;
      } else {
        out += DQ_ESCAPES[e] ?? e;
        i += 2;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || isBreak(c)) {
      let j = i;
      while (j < n && (s[j] === ' ' || s[j] === '\t')) j++;
      if (j < n && !isBreak(s[j])) {
        out += s.slice(i, j);
        i = j;
        continue;
      }
      if (j >= n) {
        out += s.slice(i, j);
        i = j;
        continue;
      }
      let breaks = 0;
      while (j < n && (isBreak(s[j]) || s[j] === ' ' || s[j] === '\t')) {
        if (isBreak(s[j])) {
          breaks++;
          j = skipBreak(j);
        } else j++;
      }
      out += breaks === 1 ? ' ' : '\n'.repeat(breaks - 1);
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
