/**
 * JSON streams, as kubectl reads them (apimachinery YAMLOrJSONDecoder): when
 * the first non-space character of the input is `{`, values are read one
 * after another with Go's encoding/json (any whitespace between them, no
 * separators). If the first or second value is not valid JSON the rest of
 * the input (from the end of the last good value) is read as YAML instead;
 * after two good values a syntax error ends the stream.
 *
 * Values: objects with own properties (duplicate keys are a 'duplicate-key'
 * error here), numbers as kubectl ends up with them: an integer literal that
 * fits int64 stays exact (bigint past 2^53-1), anything else is a float64
 * that, like every float64 kubectl re-marshals, comes back as an int64 when
 * integral (1.0 -> 1, 1e18 -> 1000000000000000000n); a number out of float64
 * range fails the document, as in kubectl. No recursion: explicit stacks.
 */

import { DecodeFailure, Limits } from './types';
import { jsonFloat } from './scalars';
import { hasKey, setOwn } from './objects';

export class JsonSyntax extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export function skipJsonSpace(t: string, i: number): number {
  while (i < t.length && isJsonSpace(t.charCodeAt(i))) i++;
  return i;
}

let pos = 0;

function number(t: string, i: number): unknown {
  const start = i;
  if (t.charCodeAt(i) === 45) i++;
  const d0 = t.charCodeAt(i);
  if (d0 === 48) i++;
  else if (d0 >= 49 && d0 <= 57) {
    while (i < t.length && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
  } else throw new JsonSyntax('invalid character in numeric literal', i);
  let isInt = true;
  if (t.charCodeAt(i) === 46) {
    isInt = false;
    i++;
    const s = i;
    while (i < t.length && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === s) throw new JsonSyntax('invalid character after decimal point in numeric literal', i);
  }
  const e = t.charCodeAt(i);
  if (e === 101 || e === 69) {
    isInt = false;
    i++;
    const sg = t.charCodeAt(i);
    if (sg === 43 || sg === 45) i++;
    const s = i;
    while (i < t.length && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === s) throw new JsonSyntax('invalid character in exponent of numeric literal', i);
  }
  pos = i;
  const text = t.slice(start, i);
  if (isInt) {
    if (i - start <= 15) return Number(text) + 0;
    const b = BigInt(text);
    if (b >= INT64_MIN && b <= INT64_MAX) return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
  }
  const f = Number(text);
  if (!Number.isFinite(f)) {
    throw new DecodeFailure('json-syntax', `json: cannot unmarshal number ${text} into Go value of type float64`, start);
  }
  return jsonFloat(f);
}

function string(t: string, i: number): string {
  // t[i] === '"'
  let j = i + 1;
  let out = '';
  let from = j;
  for (;;) {
    if (j >= t.length) throw new JsonSyntax('unexpected end of JSON input in string literal', j);
    const c = t.charCodeAt(j);
    if (c === 34) {
      pos = j + 1;
      return out + t.slice(from, j);
    }
    if (c < 32) throw new JsonSyntax('invalid character in string literal', j);
    if (c === 92) {
      out += t.slice(from, j);
      const e = t.charCodeAt(j + 1);
      j += 2;
      switch (e) {
        case 34: out += '"'; break;
        case 92: out += '\\'; break;
        case 47: out += '/'; break;
        case 98: out += '\b'; break;
        case 102: out += '\f'; break;
        case 110: out += '\n'; break;
        case 114: out += '\r'; break;
        case 116: out += '\t'; break;
        case 117: {
          const h = t.slice(j, j + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new JsonSyntax('invalid character in \\u hexadecimal character escape', j);
          let cp = parseInt(h, 16);
          j += 4;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            const h2 = t.slice(j, j + 6);
            const lo = /^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(h2) ? parseInt(h2.slice(2), 16) : -1;
            if (lo >= 0) {
              out += String.fromCharCode(cp, lo);
              j += 6;
              break;
            }
            cp = 0xfffd; // Go replaces a lone surrogate
          } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = 0xfffd;
          out += String.fromCharCode(cp);
          break;
        }
        default:
          throw new JsonSyntax('invalid character in string escape code', j - 1);
      }
      from = j;
      continue;
    }
    j++;
  }
}

function literal(t: string, i: number, word: string, value: unknown): unknown {
  if (t.startsWith(word, i)) {
    pos = i + word.length;
    return value;
  }
  throw new JsonSyntax(`invalid character '${t[i]}' looking for beginning of value`, i);
}

/**
 * Parse one JSON value starting at `i` (no leading space). Returns the value;
 * the end offset is left in `jsonEnd`. Throws JsonSyntax for malformed text,
 * DecodeFailure for a well-formed value kubectl still refuses (or a limit).
 */
export let jsonEnd = 0;

export function parseJsonValue(t: string, i: number, lim: Limits): unknown {
  const stack: unknown[] = [];
  const keys: string[] = [];
  let key = '';
  let keyAt = 0;
  let root: unknown;
  pos = i;
  for (;;) {
    // --- read a value at pos
    pos = skipJsonSpace(t, pos);
    if (pos >= t.length) throw new JsonSyntax('unexpected end of JSON input', pos);
    const c = t.charCodeAt(pos);
    let value: unknown;
    let opened = false;
    if (c === 123 || c === 91) {
      if (stack.length + 1 > lim.maxDepth) {
        throw new DecodeFailure('depth-limit', `nesting exceeds the limit of ${lim.maxDepth} levels`, pos);
      }
      value = c === 123 ? {} : [];
      opened = true;
      pos++;
    } else if (c === 34) value = string(t, pos);
    else if (c === 45 || (c >= 48 && c <= 57)) value = number(t, pos);
    else if (c === 116) value = literal(t, pos, 'true', true);
    else if (c === 102) value = literal(t, pos, 'false', false);
    else if (c === 110) value = literal(t, pos, 'null', null);
    else throw new JsonSyntax(`invalid character '${t[pos]}' looking for beginning of value`, pos);

    // --- attach it
    if (stack.length === 0) root = value;
    else {
      const top = stack[stack.length - 1]!;
      if (Array.isArray(top)) top.push(value);
      else {
        const obj = top as Record<string, unknown>;
        if (hasKey(obj, key)) {
          throw new DecodeFailure('duplicate-key', `mapping key ${JSON.stringify(key)} already defined in this JSON object`, keyAt);
        }
        setOwn(obj, key, value);
      }
    }
    if (opened) {
      stack.push(value);
      keys.push(key);
      pos = skipJsonSpace(t, pos);
      const d = t.charCodeAt(pos);
      if ((c === 123 && d === 125) || (c === 91 && d === 93)) {
        pos++;
        stack.pop();
        keys.pop();
      } else if (c === 123) {
        if (d !== 34) throw new JsonSyntax('invalid character looking for beginning of object key string', pos);
        keyAt = pos;
        key = string(t, pos);
        pos = skipJsonSpace(t, pos);
        if (t.charCodeAt(pos) !== 58) throw new JsonSyntax('invalid character after object key', pos);
        pos++;
        continue;
      } else continue;
    }
    // --- after a value: ',' or a closer, possibly several
    for (;;) {
      if (stack.length === 0) {
        jsonEnd = pos;
        return root;
      }
      pos = skipJsonSpace(t, pos);
      const top = stack[stack.length - 1]!;
      const d = t.charCodeAt(pos);
      if (d === 44) {
        pos++;
        if (!Array.isArray(top)) {
          pos = skipJsonSpace(t, pos);
          if (t.charCodeAt(pos) !== 34) throw new JsonSyntax('invalid character looking for beginning of object key string', pos);
          keyAt = pos;
          key = string(t, pos);
          pos = skipJsonSpace(t, pos);
          if (t.charCodeAt(pos) !== 58) throw new JsonSyntax('invalid character after object key', pos);
          pos++;
        }
        break;
      }
      if ((d === 125 && !Array.isArray(top)) || (d === 93 && Array.isArray(top))) {
        pos++;
        stack.pop();
        key = keys.pop()!;
        continue;
      }
      if (pos >= t.length) throw new JsonSyntax('unexpected end of JSON input', pos);
      throw new JsonSyntax(
        `invalid character '${t[pos]}' after ${Array.isArray(top) ? 'array element' : 'object key:value pair'}`,
        pos,
      );
    }
  }
}

/**
 * End offset of the JSON value at `i` by bracket matching only (strings
 * skipped), or -1 when it does not end before `limit`. Used to refuse huge
 * values before building them.
 */
export function jsonExtent(t: string, i: number, limit: number): number {
  let depth = 0;
  const stop = Math.min(t.length, limit);
  for (let j = i; j < stop; j++) {
    const c = t.charCodeAt(j);
    if (c === 34) {
      j++;
      while (j < stop) {
        const d = t.charCodeAt(j);
        if (d === 92) j += 2;
        else if (d === 34) break;
        else j++;
      }
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      if (--depth <= 0) return j + 1;
    } else if (depth === 0 && isJsonSpace(c)) return j;
  }
  return -1;
}
