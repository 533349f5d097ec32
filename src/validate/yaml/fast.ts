/**
 * Hand-written decoder for the block-style subset that nearly every manifest
 * uses: nested block mappings and sequences (including `- key: value`
 * compact mappings), single-line plain / single-quoted / double-quoted
 * scalars, empty `[]` / `{}` values, comments, blank lines, LF or CRLF line
 * ends. Repeated keys and short plain values are recognized through small
 * caches (same text -> same string / primitive), which is most of its speed.
 *
 * Literal and folded block scalars (`|`, `>`, chomping and indentation
 * indicators) are decoded here too, except for rare shapes (tabs next to the
 * indentation, empty scalars followed by empty lines, deep leading
 * spaces-only lines).
 *
 * Flow collections that open and close on one line, holding plain and
 * quoted scalars and flow collections, are decoded here too (scanFlow).
 *
 * Anything else — anchors, aliases, tags, other flow collections,
 * multi-line flow scalars, complex or merge keys, tabs in indentation, directives,
 * `...`, control characters, syntax errors, and duplicate keys (so that the
 * error names both lines) — returns FALLBACK and the document is decoded by
 * the full path (full.ts). The two must agree on every document the fast path
 * accepts; test/validate/yaml-differential.test.ts checks that.
 *
 * No recursion: containers live on explicit stacks.
 */

import { DecodeFailure, Limits } from './types';
import * as S from './scalars';
import * as O from './objects';

// Local bindings: calls through a CommonJS module object go through getters.
const plainValue = S.plainValue;
const resolvePlain = S.resolvePlain;
const keyString = S.keyString;
const R = S.R;
const PlainObject = O.PlainObject;
const K_STR = 0;
if (S.K_STR !== K_STR) throw new Error('scalar kinds changed');

export const FALLBACK: unique symbol = Symbol('fallback');

const SEQ = 1;
const MAP = 2;

// pending "value on the following lines" slot
const P_NONE = 0;
const P_MAP = 1;
const P_SEQ = 2;

/** Per-char class for plain-scalar bodies: 0 ok, 1 needs a closer look. */
const PLAIN_CLASS = new Uint8Array(65536);
for (let c = 0; c < 32; c++) PLAIN_CLASS[c] = 1; // controls, tab, CR, LF
PLAIN_CLASS[32] = 1; // space (comment start " #")
PLAIN_CLASS[58] = 1; // ':'
PLAIN_CLASS[127] = 1;
for (let c = 0x80; c <= 0x9f; c++) PLAIN_CLASS[c] = 1; // C1 controls and NEL
PLAIN_CLASS[0x2028] = 1;
PLAIN_CLASS[0x2029] = 1;
PLAIN_CLASS[0xfeff] = 1;
PLAIN_CLASS[0xfffe] = 1;
PLAIN_CLASS[0xffff] = 1;

/** Characters that may not start a plain scalar in the fast path. */
const NO_PLAIN_START = new Uint8Array(128);
for (const ch of '-?:,[]{}#&*!|>\'"%@`') NO_PLAIN_START[ch.charCodeAt(0)] = 1;
for (let c = 0; c < 32; c++) NO_PLAIN_START[c] = 1;
NO_PLAIN_START[32] = 1;
NO_PLAIN_START[127] = 1;

let scanEnd = 0; // out-param of the scalar scanners: index after the scalar (and any trailing comment)

/**
 * Scan a plain scalar starting at `i` up to `lineEnd`. Returns its value or
 * FALLBACK (not in the fast subset). Sets scanEnd.
 */
function scanPlain(text: string, i: number, lineEnd: number): unknown {
  let j = i;
  let lastNonSpace = i; // exclusive end of content
  while (j < lineEnd) {
    const c = text.charCodeAt(j);
    if (PLAIN_CLASS[c] === 0) {
      j++;
      lastNonSpace = j;
      continue;
    }
    if (c === 32 || c === 9) {
      const n = j + 1 < lineEnd ? text.charCodeAt(j + 1) : -1;
      if (n === 35) break; // " #" comment
      j++;
      continue;
    }
    if (c === 58) {
      // ':' followed by space/tab/end would make this a mapping key
      const n = j + 1 < lineEnd ? text.charCodeAt(j + 1) : -1;
      if (n === -1 || n === 32 || n === 9) return FALLBACK;
      j++;
      lastNonSpace = j;
      continue;
    }
    return FALLBACK; // control character, CR, NEL, LS/PS, BOM, noncharacter
  }
  scanEnd = lineEnd;
  // Value cache: a plain scalar's value depends on its text only, and all
  // values are primitives, so repeated short values (names, types, sizes,
  // booleans...) are resolved once and share one string.
  const len = lastNonSpace - i;
  if (len > VALUE_CACHE_WIDTH) return plainValue(text.slice(i, lastNonSpace));
  const slot = slotOf(text, i, len) & VALUE_CACHE_MASK;
  const base = slot * VALUE_CACHE_WIDTH;
  if (vcacheLen[slot] === len && lastNonSpace !== lineEnd) {
    // (when it runs to the line end, scanValue has already probed)
    let m = 0;
    while (m < len && vcacheChars[base + m] === text.charCodeAt(i + m)) m++;
    if (m === len) return vcacheValue[slot];
  }
  const v = plainValue(text.slice(i, lastNonSpace)); // may throw (.inf): not cached
  for (let m = 0; m < len; m++) vcacheChars[base + m] = text.charCodeAt(i + m);
  vcacheLen[slot] = len;
  vcacheValue[slot] = v;
  return v;
}

const VALUE_CACHE_MASK = 4095;
const VALUE_CACHE_WIDTH = 40;
const vcacheChars = new Uint16Array((VALUE_CACHE_MASK + 1) * VALUE_CACHE_WIDTH);
const vcacheLen = new Int32Array(VALUE_CACHE_MASK + 1).fill(-1);
const vcacheValue: unknown[] = new Array<unknown>(VALUE_CACHE_MASK + 1).fill(null);

/** Cache slot from the length and three characters (collisions only cost a miss). */
function slotOf(text: string, i: number, len: number): number {
  return (
    (Math.imul(text.charCodeAt(i), 0x9e3779b1) ^
      Math.imul(text.charCodeAt(i + len - 1), 0x85ebca6b) ^
      Math.imul(text.charCodeAt(i + (len >> 1)), 0xc2b2ae35) ^
      Math.imul(len, 0x27d4eb2f)) >>>
    17
  );
}

/** After a quoted scalar: only spaces and an optional comment may follow. */
function restIsEmpty(text: string, j: number, lineEnd: number): boolean {
  if (j === lineEnd) return true;
  const c = text.charCodeAt(j);
  if (c !== 32 && c !== 9) return false;
  while (j < lineEnd) {
    const d = text.charCodeAt(j);
    if (d === 32 || d === 9) j++;
    else return d === 35;
  }
  return true;
}

function hexValue(text: string, i: number, n: number, lineEnd: number): number {
  if (i + n > lineEnd) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = text.charCodeAt(i + k);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Single-line double-quoted scalar at `i` (the opening quote). Sets scanEnd to after the closing quote. */
function scanDouble(text: string, i: number, lineEnd: number): string | null {
  let j = i + 1;
  let out = '';
  let from = j;
  while (j < lineEnd) {
    const c = text.charCodeAt(j);
    if (c === 34) {
      scanEnd = j + 1;
      return from === i + 1 ? text.slice(from, j) : out + text.slice(from, j);
    }
    if (c === 92) {
      out += text.slice(from, j);
      if (j + 1 >= lineEnd) return null;
      const e = text.charCodeAt(j + 1);
      let len = 2;
      switch (e) {
        case 48: out += '\0'; break;
        case 97: out += '\x07'; break;
        case 98: out += '\b'; break;
        case 116: case 9: out += '\t'; break;
        case 110: out += '\n'; break;
        case 118: out += '\v'; break;
        case 102: out += '\f'; break;
        case 114: out += '\r'; break;
        case 101: out += '\x1b'; break;
        case 32: out += ' '; break;
        case 34: out += '"'; break;
        case 39: out += "'"; break;
        case 92: out += '\\'; break;
        case 78: out += '\u0085'; break;
        case 95: out += '\u00a0'; break;
        case 76: out += '\u2028'; break;
        case 80: out += '\u2029'; break;
        case 120: case 117: case 85: {
          const n = e === 120 ? 2 : e === 117 ? 4 : 8;
          const v = hexValue(text, j + 2, n, lineEnd);
          if (v < 0 || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) return null;
          out += String.fromCodePoint(v);
          len = 2 + n;
          break;
        }
        default:
          return null;
      }
      j += len;
      from = j;
      continue;
    }
    if (c < 32 ? c !== 9 : c >= 127 && PLAIN_CLASS[c] === 1) return null;
    j++;
  }
  return null; // not closed on this line
}

/** Single-line single-quoted scalar at `i`. */
function scanSingle(text: string, i: number, lineEnd: number): string | null {
  let j = i + 1;
  let out = '';
  let from = j;
  while (j < lineEnd) {
    const c = text.charCodeAt(j);
    if (c === 39) {
      if (j + 1 < lineEnd && text.charCodeAt(j + 1) === 39) {
        out += text.slice(from, j + 1);
        j += 2;
        from = j;
        continue;
      }
      scanEnd = j + 1;
      return out + text.slice(from, j);
    }
    if (c < 32 ? c !== 9 : c >= 127 && PLAIN_CLASS[c] === 1) return null;
    j++;
  }
  return null;
}

let keyEnd = 0; // out-param of scanKey: index just after the ':'

/**
 * A mapping key at `i` followed by ':' and a space/tab/end. Returns the JSON
 * key, or null when the line is not a simple `key:` line.
 */
function scanKey(text: string, i: number, lineEnd: number): string | null {
  // Cache probe first: a key seen before is recognized with one search and
  // one comparison (its characters were validated when cached). The search
  // stays within the line and within the widest cached key, so that a
  // line without a ':' costs its own length, not the rest of the text.
  let colon = -1;
  const probeEnd = i + KEY_CACHE_WIDTH + 1 < lineEnd ? i + KEY_CACHE_WIDTH + 1 : lineEnd;
  for (let q = i; q < probeEnd; q++) {
    if (text.charCodeAt(q) === 58) {
      colon = q;
      break;
    }
  }
  if (colon > i && (colon + 1 === lineEnd || text.charCodeAt(colon + 1) === 32)) {
    const len = colon - i;
    if (len <= KEY_CACHE_WIDTH) {
      const slot = slotOf(text, i, len) & KEY_CACHE_MASK;
      if (cacheLen[slot] === len) {
        const base = slot * KEY_CACHE_WIDTH;
        let m = 0;
        while (m < len && cacheChars[base + m] === text.charCodeAt(i + m)) m++;
        if (m === len) {
          keyEnd = colon + 1;
          return cacheKey[slot]!;
        }
      }
    }
  }
  const c = text.charCodeAt(i);
  if (c === 34 || c === 39) {
    const s = c === 34 ? scanDouble(text, i, lineEnd) : scanSingle(text, i, lineEnd);
    if (s === null) return null;
    const j = scanEnd;
    if (j >= lineEnd || text.charCodeAt(j) !== 58) return null;
    const n = j + 1 < lineEnd ? text.charCodeAt(j + 1) : 32;
    if (n !== 32) return null;
    keyEnd = j + 1;
    return s;
  }
  if (c < 128 && NO_PLAIN_START[c] === 1) {
    if (c !== 45) return null;
    const n = i + 1 < lineEnd ? text.charCodeAt(i + 1) : 32;
    if (n === 32 || n === 9) return null;
  }
  let j = i;
  let lastNonSpace = i;
  while (j < lineEnd) {
    const d = text.charCodeAt(j);
    if (d === 58) {
      const n = j + 1 < lineEnd ? text.charCodeAt(j + 1) : 32;
      if (n === 32) break;
      if (n === 9) return null;
      j++;
      lastNonSpace = j;
      continue;
    }
    if (PLAIN_CLASS[d] === 0) {
      j++;
      lastNonSpace = j;
      continue;
    }
    if (d === 32) {
      if (j + 1 < lineEnd && text.charCodeAt(j + 1) === 35) return null;
      j++;
      continue;
    }
    return null;
  }
  if (j >= lineEnd) return null;
  const len = lastNonSpace - i;
  if (len > 1024) return null;
  keyEnd = j + 1;
  // Key cache: the same few keys recur in every manifest. Reusing one string
  // object per key (compared through a char copy, not the string, which V8
  // turns into a slower "thin" string once it is used as a property name)
  // saves slicing and re-internalizing it on every property store.
  const slot = slotOf(text, i, len) & KEY_CACHE_MASK;
  if (len <= KEY_CACHE_WIDTH && cacheLen[slot] === len) {
    const base = slot * KEY_CACHE_WIDTH;
    let m = 0;
    while (m < len && cacheChars[base + m] === text.charCodeAt(i + m)) m++;
    if (m === len) return cacheKey[slot]!;
  }
  const raw = text.slice(i, lastNonSpace);
  if (raw === '<<') return null;
  const k = resolvePlain(raw);
  const key = k === K_STR ? raw : keyString(k, R.v);
  if (len <= KEY_CACHE_WIDTH) {
    const base = slot * KEY_CACHE_WIDTH;
    for (let m = 0; m < len; m++) cacheChars[base + m] = text.charCodeAt(i + m);
    cacheLen[slot] = len;
    cacheKey[slot] = key;
  }
  return key;
}

const KEY_CACHE_MASK = 2047;
const KEY_CACHE_WIDTH = 32;
const cacheChars = new Uint16Array((KEY_CACHE_MASK + 1) * KEY_CACHE_WIDTH);
const cacheLen = new Int32Array(KEY_CACHE_MASK + 1);
const cacheKey: string[] = new Array<string>(KEY_CACHE_MASK + 1).fill('');

/**
 * A scalar value at `i` (first non-space character after `key:` or `- `).
 * Returns FALLBACK when not in the fast subset.
 */
function scanValue(text: string, i: number, lineEnd: number): unknown {
  // Cache probe first: the rest of the line equal to a plain scalar seen
  // before (cached texts are complete, validated plain scalars).
  const len = lineEnd - i;
  if (len <= VALUE_CACHE_WIDTH) {
    const slot = slotOf(text, i, len) & VALUE_CACHE_MASK;
    if (vcacheLen[slot] === len) {
      const base = slot * VALUE_CACHE_WIDTH;
      let m = 0;
      while (m < len && vcacheChars[base + m] === text.charCodeAt(i + m)) m++;
      if (m === len) {
        scanEnd = lineEnd;
        return vcacheValue[slot];
      }
    }
  }
  const c = text.charCodeAt(i);
  if (c === 34 || c === 39) {
    const s = c === 34 ? scanDouble(text, i, lineEnd) : scanSingle(text, i, lineEnd);
    if (s === null || !restIsEmpty(text, scanEnd, lineEnd)) return FALLBACK;
    return s;
  }
  if (c < 128 && NO_PLAIN_START[c] === 1) {
    // "-1", "-x": a dash not followed by a space starts a plain scalar
    if (c !== 45) return FALLBACK;
    const n = i + 1 < lineEnd ? text.charCodeAt(i + 1) : 32;
    if (n === 32 || n === 9) return FALLBACK;
  }
  return scanPlain(text, i, lineEnd);
}

let blockNext = 0; // out-params of scanBlock: offset of the line that ended the scalar,
let blockLines = 0; // and how many lines (after the header line) it consumed

/** Content characters a block scalar may hold in the fast path (tab ok). */
function badContent(c: number): boolean {
  return c < 32 ? c !== 9 : c >= 127 && PLAIN_CLASS[c] === 1 && c !== 58;
}

/**
 * A literal (`|`) or folded (`>`) block scalar whose header starts at `h`
 * (on the line ending at `hEnd`); its content starts on the line at `pos`.
 * `parent` is the indentation of the enclosing block collection. Returns the
 * string or FALLBACK; sets blockNext / blockLines.
 */
function scanBlock(text: string, h: number, hEnd: number, pos: number, parent: number): string | typeof FALLBACK {
  const folded = text.charCodeAt(h) === 62;
  let chomp = 0; // -1 strip, 0 clip, 1 keep
  let explicit = 0;
  let j = h + 1;
  for (let k = 0; k < 2 && j < hEnd; k++) {
    const c = text.charCodeAt(j);
    if ((c === 45 || c === 43) && chomp === 0) {
      chomp = c === 45 ? -1 : 1;
      j++;
    } else if (c >= 49 && c <= 57 && explicit === 0) {
      explicit = c - 48;
      j++;
    } else break;
  }
  if (j < hEnd) {
    if (text.charCodeAt(j) !== 32) return FALLBACK;
    if (!restIsEmpty(text, j, hEnd)) return FALLBACK;
    for (let q = j; q < hEnd; q++) if (text.charCodeAt(q) === 9) return FALLBACK;
  }
  const n = text.length;
  let indent = explicit > 0 ? parent + explicit : -1;
  let out = '';
  let breaks = 0; // empty lines since the last text line (or the start)
  let hadText = false;
  let prevSpaced = false;
  let maxBlank = 0;
  let lines = 0;
  let p = pos;
  while (p < n) {
    let nl = text.indexOf('\n', p);
    if (nl < 0) nl = n;
    let lineEnd = nl;
    if (lineEnd > p && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    let i = p;
    while (i < lineEnd && text.charCodeAt(i) === 32) i++;
    const sp = i - p;
    // with an indentation indicator the yaml package treats spaces-only lines
    // deeper than the indentation differently: leave those to the full path
    if (i === lineEnd && explicit > 0 && sp > indent) return FALLBACK;
    if (i === lineEnd && (!hadText || sp <= indent)) {
      // an empty line (a spaces-only line deeper than the content is text)
      if (!hadText) {
        if (indent >= 0 && sp > indent) return FALLBACK; // leading: leave to the full path
        if (sp > maxBlank) maxBlank = sp;
      }
      if (nl < n) breaks++;
      lines++;
      p = nl + 1;
      continue;
    }
    const c = text.charCodeAt(i);
    if (i < lineEnd && c === 9) {
      if (indent < 0 || sp <= indent) return FALLBACK; // tab in (or right after) the indentation
    }
    if (indent < 0) {
      if (sp <= parent) break; // empty scalar
      if (maxBlank > sp) return FALLBACK;
      indent = sp;
    }
    if (sp < indent) break;
    // a text line
    const from = p + indent;
    for (let q = from; q < lineEnd; q++) if (badContent(text.charCodeAt(q))) return FALLBACK;
    const spaced = sp > indent || (from < lineEnd && text.charCodeAt(from) === 9);
    if (!hadText) out = breaks > 0 ? '\n'.repeat(breaks) + text.slice(from, lineEnd) : text.slice(from, lineEnd);
    else if (breaks === 0) out += (folded && !spaced && !prevSpaced ? ' ' : '\n') + text.slice(from, lineEnd);
    else if (folded && !spaced && !prevSpaced) out += '\n'.repeat(breaks) + text.slice(from, lineEnd);
    else out += '\n'.repeat(breaks + 1) + text.slice(from, lineEnd);
    hadText = true;
    prevSpaced = spaced;
    breaks = 0;
    lines++;
    p = nl + 1;
  }
  if (!hadText) {
    if (breaks > 0) return FALLBACK; // empty scalar with empty lines: leave to the full path
    out = '';
  } else if (chomp >= 0) {
    // (the end of the stream counts as a line break, as on the full path)
    out += chomp === 1 ? '\n'.repeat(breaks + 1) : '\n';
  }
  blockNext = p < n ? p : n;
  blockLines = lines;
  return out;
}

/** Out-parameters of fastDecode (valid when it did not return FALLBACK). */
export const fastOut = {
  /** Offset of the line that ended the document (a `---` line) or text.length. */
  end: 0,
  /** Line number of that line (text.length: one past the last line). */
  endLine: 0,
  /** Line and offset of the first content line; -1 when the document is empty. */
  firstLine: 0,
  firstOffset: -1,
};

// Reused stacks (fastDecode is not re-entrant and never calls itself).
// Frames are indexed by a stack pointer (no push/pop): kinds, indents and
// the same-indent flag of each open block, and its container.
const kinds: number[] = [0];
const indents: number[] = [0];
const conts: unknown[] = [null];
const sameIndent: boolean[] = [false];

/**
 * Decode the document that starts at `start` (line number `line`) and runs
 * to the next line beginning with `---` or to the end of `text`. Returns the
 * value (null for an empty document) and fills fastOut, or returns FALLBACK
 * (then fastOut is meaningless). Gives up (FALLBACK) past `maxChars`
 * characters so that the caller can apply the size limit first.
 */
export function fastDecode(text: string, start: number, line: number, lim: Limits, maxChars: number): unknown {
  let sp = -1; // index of the innermost open block
  let hw = -1; // highest index used (cleared at the end)
  let depth = 0;
  let root: unknown = null;
  let rootSet = false;

  let pend = P_NONE;
  let pendObj: unknown = null;
  let pendKey = '';
  let pendIndent = 0;
  let lastScalarIndent = -1;
  const maxDepth = lim.maxDepth;
  const n = text.length;
  const stopAt = start + maxChars;
  fastOut.firstOffset = -1;

  let pos = start;
  let curOffset = start;
  line--;
  try {
    while (pos < n) {
      line++;
      const lineStart = pos;
      if (text.charCodeAt(pos) === 45 && text.charCodeAt(pos + 1) === 45 && text.charCodeAt(pos + 2) === 45) break;
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = n;
      let lineEnd = nl;
      pos = nl + 1;
      if (pos > stopAt) return FALLBACK;
      if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;

      let i = lineStart;
      while (i < lineEnd && text.charCodeAt(i) === 32) i++;
      if (i === lineEnd) continue;
      let c = text.charCodeAt(i);
      if (c === 35) continue; // comment line
      if (c === 9) return FALLBACK;
      let col = i - lineStart;
      if (col === 0 && (c === 46 || c === 37)) return FALLBACK; // "..." / directives
      if (lastScalarIndent >= 0 && col > lastScalarIndent) return FALLBACK; // continuation line
      lastScalarIndent = -1;
      curOffset = i;
      if (fastOut.firstOffset < 0) {
        fastOut.firstOffset = i;
        fastOut.firstLine = line;
      }

      let isSeq = c === 45 && (i + 1 === lineEnd || text.charCodeAt(i + 1) === 32);
      if (c === 45 && !isSeq && i + 1 < lineEnd && text.charCodeAt(i + 1) === 9) return FALLBACK;
      let key: string | null = null;
      if (!isSeq) {
        key = scanKey(text, i, lineEnd);
        if (key === null) return FALLBACK;
      }

      // 1. a pending `key:` / `-` takes this line as its nested block, or becomes null
      if (pend !== P_NONE) {
        let cont: unknown = null;
        if (col > pendIndent || (col === pendIndent && isSeq && pend === P_MAP)) {
          cont = isSeq ? [] : new PlainObject();
          if (++depth > maxDepth) throw depthLimit(maxDepth, i);
          sp++;
          kinds[sp] = isSeq ? SEQ : MAP;
          indents[sp] = col;
          conts[sp] = cont;
          sameIndent[sp] = col === pendIndent;
          if (sp > hw) hw = sp;
        }
        if (pend === P_MAP) (pendObj as Record<string, unknown>)[pendKey] = cont;
        else (pendObj as unknown[]).push(cont);
        pend = P_NONE;
      } else if (sp < 0) {
        if (rootSet) return FALLBACK;
        root = isSeq ? [] : new PlainObject();
        rootSet = true;
        if (++depth > maxDepth) throw depthLimit(maxDepth, i);
        sp = 0;
        kinds[0] = isSeq ? SEQ : MAP;
        indents[0] = col;
        conts[0] = root;
        sameIndent[0] = false;
        if (hw < 0) hw = 0;
      }

      // 2. close deeper blocks
      let top = sp;
      while (top >= 0 && (indents[top]! > col || (indents[top] === col && sameIndent[top] && !isSeq))) {
        depth--;
        top--;
      }
      sp = top;
      if (top < 0 || indents[top] !== col) return FALLBACK;

      // 3. entries; compact forms (`- - x`, `- k: v`) loop with a new top
      for (;;) {
        if (kinds[top] === SEQ) {
          if (!isSeq) return FALLBACK;
          const arr = conts[top] as unknown[];
          let j = i + 1;
          while (j < lineEnd && text.charCodeAt(j) === 32) j++;
          if (j === lineEnd || text.charCodeAt(j) === 35) {
            pend = P_SEQ;
            pendObj = arr;
            pendIndent = col;
            break;
          }
          c = text.charCodeAt(j);
          if (c === 9) return FALLBACK;
          const ncol = j - lineStart;
          curOffset = j;
          if (c === 45 && (j + 1 === lineEnd || text.charCodeAt(j + 1) === 32)) {
            const inner: unknown[] = [];
            arr.push(inner);
            if (++depth > maxDepth) throw depthLimit(maxDepth, j);
            top++;
            kinds[top] = SEQ;
            indents[top] = ncol;
            conts[top] = inner;
            sameIndent[top] = false;
            sp = top;
            if (sp > hw) hw = sp;
            i = j;
            col = ncol;
            continue;
          }
          const k = c === 45 ? null : scanKey(text, j, lineEnd);
          if (k !== null) {
            const obj = new PlainObject();
            arr.push(obj);
            if (++depth > maxDepth) throw depthLimit(maxDepth, j);
            top++;
            kinds[top] = MAP;
            indents[top] = ncol;
            conts[top] = obj;
            sameIndent[top] = false;
            sp = top;
            if (sp > hw) hw = sp;
            i = j;
            col = ncol;
            key = k;
            isSeq = false;
            continue;
          }
          if (c === 124 || c === 62) {
            const b = scanBlock(text, j, lineEnd, pos, col);
            if (b === FALLBACK) return FALLBACK;
            arr.push(b);
            pos = blockNext;
            line += blockLines;
            if (pos > stopAt) return FALLBACK;
            lastScalarIndent = col;
            break;
          }
          const v = c === 91 || c === 123 ? scanFlow(text, j, lineEnd, depth, maxDepth) : scanValue(text, j, lineEnd);
          if (v === FALLBACK) return FALLBACK;
          arr.push(v);
          lastScalarIndent = col;
          break;
        }
        // mapping entry
        if (isSeq) return FALLBACK;
        const obj = conts[top] as Record<string, unknown>;
        const k = key!;
        // duplicate (or __proto__-like) keys: the full path reports / stores them
        if (obj[k] !== undefined) return FALLBACK;
        let j = keyEnd;
        while (j < lineEnd && text.charCodeAt(j) === 32) j++;
        if (j === lineEnd || text.charCodeAt(j) === 35) {
          pend = P_MAP;
          pendObj = obj;
          pendKey = k;
          pendIndent = col;
          break;
        }
        c = text.charCodeAt(j);
        if (c === 9) return FALLBACK;
        if (c === 45 && (j + 1 === lineEnd || text.charCodeAt(j + 1) === 32)) return FALLBACK;
        curOffset = j;
        if (c === 124 || c === 62) {
          const b = scanBlock(text, j, lineEnd, pos, col);
          if (b === FALLBACK) return FALLBACK;
          obj[k] = b;
          pos = blockNext;
          line += blockLines;
          if (pos > stopAt) return FALLBACK;
          lastScalarIndent = col;
          break;
        }
        const v = c === 91 || c === 123 ? scanFlow(text, j, lineEnd, depth, maxDepth) : scanValue(text, j, lineEnd);
        if (v === FALLBACK) return FALLBACK;
        obj[k] = v;
        lastScalarIndent = col;
        break;
      }
    }
    if (pos >= n && pos > start) line++;
  } catch (e) {
    if (e instanceof DecodeFailure && e.offset < 0 && e.line === 0) {
      throw new DecodeFailure(e.rule, e.message, curOffset);
    }
    throw e;
  } finally {
    for (let q = 0; q <= hw; q++) conts[q] = null; // do not keep the document alive
  }
  if (pend === P_MAP) (pendObj as Record<string, unknown>)[pendKey] = null;
  else if (pend === P_SEQ) (pendObj as unknown[]).push(null);
  fastOut.end = pos < n ? pos : n;
  fastOut.endLine = line;
  return root;
}

/**
 * A flow collection (`[...]` or `{...}`) that opens and closes on this line,
 * then only spaces / a comment, as a value. Holds plain and single-line
 * quoted scalars and nested flow collections; in maps every entry is
 * `key: value`. Anything else (a collection over several lines, `?`, empty
 * values, single-pair mappings in sequences, anchors, tags, comments inside,
 * colons in plain scalars, tabs) is FALLBACK. No recursion: an explicit stack.
 * The collection starts at nesting level `depth + 1`.
 */
function scanFlow(text: string, j: number, lineEnd: number, depth: number, maxDepth: number): unknown {
  const fk = flowKinds;
  const fc = flowConts;
  let top = -1;
  let p = j;
  let result: unknown = FALLBACK;
  let key = ''; // the key whose value is scanned next (maps)
  for (;;) {
    // a node at p
    while (p < lineEnd && text.charCodeAt(p) === 32) p++;
    if (p >= lineEnd) return FALLBACK;
    let c = text.charCodeAt(p);
    let value: unknown;
    if (c === 91 || c === 123) {
      if (depth + top + 2 > maxDepth) throw depthLimit(maxDepth, p);
      const cont = c === 91 ? [] : new PlainObject();
      top++;
      fk[top] = c === 91 ? SEQ : MAP;
      fc[top] = cont;
      flowKeys[top] = key;
      p++;
      while (p < lineEnd && text.charCodeAt(p) === 32) p++;
      c = p < lineEnd ? text.charCodeAt(p) : -1;
      if (c === (fk[top] === SEQ ? 93 : 125)) {
        // empty: closes at once
        p++;
        value = cont;
        top--;
        key = top >= 0 ? flowKeys[top + 1]! : '';
      } else {
        if (fk[top] === MAP) {
          const k = flowKey(text, p, lineEnd);
          if (k === null || (cont as Record<string, unknown>)[k] !== undefined) return FALLBACK;
          key = k;
          p = scanEnd;
        }
        continue;
      }
    } else if (c === 34 || c === 39) {
      const str = c === 34 ? scanDouble(text, p, lineEnd) : scanSingle(text, p, lineEnd);
      if (str === null) return FALLBACK;
      value = str;
      p = scanEnd;
    } else {
      value = flowPlain(text, p, lineEnd);
      if (value === FALLBACK) return FALLBACK;
      p = scanEnd;
    }
    // store the node, then close what it completes
    for (;;) {
      if (top < 0) {
        result = value;
        break;
      }
      const cont = fc[top];
      if (fk[top] === SEQ) (cont as unknown[]).push(value);
      else (cont as Record<string, unknown>)[key] = value;
      while (p < lineEnd && text.charCodeAt(p) === 32) p++;
      c = p < lineEnd ? text.charCodeAt(p) : -1;
      const close = fk[top] === SEQ ? 93 : 125;
      if (c === 44) {
        p++;
        while (p < lineEnd && text.charCodeAt(p) === 32) p++;
        if (p < lineEnd && text.charCodeAt(p) === close) c = close; // trailing comma
        else {
          if (fk[top] === MAP) {
            const k = flowKey(text, p, lineEnd);
            if (k === null || (cont as Record<string, unknown>)[k] !== undefined) return FALLBACK;
            key = k;
            p = scanEnd;
          }
          break; // next node
        }
      }
      if (c !== close) return FALLBACK;
      p++;
      value = cont;
      key = flowKeys[top]!;
      fc[top] = null;
      top--;
    }
    if (top < 0) break;
  }
  if (!restIsEmpty(text, p, lineEnd)) return FALLBACK;
  return result;
}

const flowKinds: number[] = [];
const flowConts: unknown[] = [];
const flowKeys: string[] = [];

/**
 * A plain scalar inside a flow collection: ends before `,`, `]`, `}` or
 * `: ` (spaces before the end are not part of it). FALLBACK when it runs
 * to the line end or holds anything the fast path does not decide (`:`,
 * `[`, `{`, ` #`, tabs, control characters). Sets scanEnd.
 */
function flowPlain(text: string, i: number, lineEnd: number): unknown {
  const c0 = text.charCodeAt(i);
  if (c0 < 128 && NO_PLAIN_START[c0] === 1) {
    if (c0 !== 45) return FALLBACK;
    const n = i + 1 < lineEnd ? text.charCodeAt(i + 1) : 32;
    if (n === 32 || n === 9 || n === 44 || n === 91 || n === 93 || n === 123 || n === 125) return FALLBACK;
  }
  let j = i;
  let last = i;
  while (j < lineEnd) {
    const c = text.charCodeAt(j);
    if (c === 44 || c === 93 || c === 125) break;
    if (c === 58) {
      const n = j + 1 < lineEnd ? text.charCodeAt(j + 1) : -1;
      if (n === 32) break; // `key: ` (the caller decides)
      return FALLBACK;
    }
    if (c === 91 || c === 123) return FALLBACK;
    if (c === 32) {
      if (j + 1 < lineEnd && text.charCodeAt(j + 1) === 35) return FALLBACK;
      j++;
      continue;
    }
    if (PLAIN_CLASS[c] === 1) return FALLBACK;
    j++;
    last = j;
  }
  if (j >= lineEnd) return FALLBACK;
  scanEnd = last;
  return plainValue(text.slice(i, last));
}

/**
 * A key in a flow mapping at `i` (after spaces): a plain or single-line
 * quoted scalar followed by `: `. Returns the JSON key (scanEnd after the
 * space) or null.
 */
function flowKey(text: string, i: number, lineEnd: number): string | null {
  while (i < lineEnd && text.charCodeAt(i) === 32) i++;
  if (i >= lineEnd) return null;
  const c = text.charCodeAt(i);
  let key: string;
  let j: number;
  if (c === 34 || c === 39) {
    const s = c === 34 ? scanDouble(text, i, lineEnd) : scanSingle(text, i, lineEnd);
    if (s === null) return null;
    key = s;
    j = scanEnd;
  } else {
    if (c < 128 && NO_PLAIN_START[c] === 1) {
      if (c !== 45) return null;
      const n = i + 1 < lineEnd ? text.charCodeAt(i + 1) : 32;
      if (n === 32 || n === 9 || n === 44 || n === 91 || n === 93 || n === 123 || n === 125) return null;
    }
    let q = i;
    let last = i;
    while (q < lineEnd) {
      const d = text.charCodeAt(q);
      if (d === 58) {
        if (q + 1 < lineEnd && text.charCodeAt(q + 1) === 32) break;
        return null;
      }
      if (d === 44 || d === 91 || d === 93 || d === 123 || d === 125) return null;
      if (d === 32) {
        if (q + 1 < lineEnd && text.charCodeAt(q + 1) === 35) return null;
        q++;
        continue;
      }
      if (PLAIN_CLASS[d] === 1) return null;
      q++;
      last = q;
    }
    if (q >= lineEnd || last - i > 1024) return null;
    const raw = text.slice(i, last);
    if (raw === '<<') return null;
    const k = resolvePlain(raw);
    key = k === K_STR ? raw : keyString(k, R.v);
    j = q;
  }
  if (j + 1 >= lineEnd || text.charCodeAt(j) !== 58 || text.charCodeAt(j + 1) !== 32) return null;
  j += 2;
  while (j < lineEnd && text.charCodeAt(j) === 32) j++;
  // an empty value (`{a: }`, `{a: ,b}`) is left to the full path
  if (j >= lineEnd) return null;
  const n = text.charCodeAt(j);
  if (n === 44 || n === 125 || n === 93) return null;
  scanEnd = j;
  return key;
}

function depthLimit(max: number, offset: number): DecodeFailure {
  return new DecodeFailure('depth-limit', `nesting exceeds the limit of ${max} levels`, offset);
}
