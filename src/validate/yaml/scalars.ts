/**
 * Scalar resolution exactly as `kubectl apply -f` ends up with it.
 *
 * kubectl (k8s.io/cli-runtime StreamVisitor -> k8s.io/apimachinery
 * pkg/util/yaml YAMLToJSONDecoder -> sigs.k8s.io/yaml v1.6 Unmarshal) decodes
 * each document with go.yaml.in/yaml/v2 (YAML 1.1 resolution, resolve.go),
 * converts map keys to strings (sigs.k8s.io/yaml convertToJSONableObject),
 * json.Marshal()s the result and reads it back into int64-or-float64 numbers
 * (apimachinery pkg/util/json). The rules below are that pipeline's; every
 * one of them was checked against the real Go code (sigs.k8s.io/yaml v1.6.0,
 * go.yaml.in/yaml/v2 v2.4.4, apimachinery v0.37.2) — see
 * test/validate/fixtures/yaml/*.expected.json, produced by it.
 *
 * Plain (unquoted, untagged) scalar `s`, go-yaml v2 resolve():
 *  - The first character picks the candidates (resolveTable): `+ -` sign,
 *    `0-9` digit, `y Y n N t T f F o O ~` map lookup, `.` float; anything else
 *    (and every quoted or block scalar) is a string. The empty plain scalar is
 *    null.
 *  - Exact-match table (case variants listed are the only ones):
 *      true:  y Y yes Yes YES true True TRUE on On ON
 *      false: n N no No NO false False FALSE off Off OFF
 *      null:  (empty) ~ null Null NULL
 *      .nan .NaN .NAN, .inf .Inf .INF, +.inf +.Inf +.INF, -.inf -.Inf -.INF
 *    (`yEs`, `oN`, `nULL`... are strings).
 *  - `.`-first: Go strconv.ParseFloat of the text (underscores only between
 *    digits): `.5`, `.5e3`, `.5_0` are floats; `.e5`, `._5`, `.` strings.
 *  - digit/sign-first: every `_` is removed, then
 *      1. Go ParseInt(base 0, int64): optional sign, `0x`/`0X` hex, `0b`/`0B`
 *         binary, `0o`/`0O` octal, a leading `0` means octal (`0777` = 511,
 *         `010` = 8), else decimal. `1_000` = 1000, `-0x10` = -16.
 *      2. Go ParseUint(base 0, uint64), no sign: 2^63 .. 2^64-1.
 *      3. `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` -> float64
 *         (`08` = 8.0, `1.` = 1.0, `1e3`, `+.5`); out of float64 range (`1e400`)
 *         stays a string; underflow (`1e-400`) is 0.
 *      4. `0b` + signed binary (`0b-1` = -1), `-0b` + binary.
 *      Everything else stays a string: `1:30` (no sexagesimal), `2001-12-14`
 *      (timestamps stay strings for interface{} targets), `0x1p3`, `1e`, `+`.
 *  - `<<` as a plain key is a merge key; as a value it is the string "<<".
 *
 * Explicit tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
 * `!!timestamp`): `!!str` makes anything a string; others resolve the text as
 * above (quoted text too) and the result must have that type, except that an
 * int is accepted (as float) for `!!float`; else the document fails ("cannot
 * decode !!float `1.5` as a !!int"). `!!binary` base64-decodes to a string.
 * Any other tag (`!foo`, `!!map` on a scalar...) leaves the text as a string.
 * Tags on collections are ignored.
 *
 * After the JSON round trip (json.Marshal, then ints parsed as int64 else
 * float64):
 *  - int64 values stay exact: a JS number when |n| <= 2^53-1, else a bigint.
 *  - uint64 values above 2^63-1 become float64 (a JS number).
 *  - float64 NaN/+Inf/-Inf cannot be marshalled: the document fails
 *    ("json: unsupported value: +Inf").
 *  - an integral float64 with |f| < 1e21 is printed without exponent and so
 *    comes back as an int64 when it fits: `1e18` -> 1000000000000000000n,
 *    `-0.0` -> 0, `1.0` -> 1; `1e20` stays a float (too big for int64).
 *
 * Map keys that are not strings become strings (convertToJSONableObject):
 * int -> decimal (`0x10: a` gives "16"), bool -> "true"/"false" (`yes: a`,
 * `y: a` and `on: a` all give "true"), float -> strconv.FormatFloat(f, 'g',
 * -1, 32), i.e. float32 shortest %g (`1.5` "1.5", `2e9` "2e+09",
 * `3.14159265358979` "3.1415927", `.inf` ".inf"); a null key or a uint64 key
 * (>= 2^63) fails the document, as do sequence and mapping keys.
 */

import { DecodeFailure } from './types';

export const K_STR = 0;
export const K_NULL = 1;
export const K_BOOL = 2;
export const K_INT = 3; // value: number (safe) or bigint (int64)
export const K_UINT = 4; // value: bigint > 2^63-1
export const K_FLOAT = 5; // value: number

/** Result slot of the last resolve (avoids an allocation per scalar). */
export const R: { v: unknown } = { v: null };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const TABLE: Record<string, [number, unknown]> = Object.create(null);
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) TABLE[s] = [K_BOOL, true];
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) TABLE[s] = [K_BOOL, false];
for (const s of ['', '~', 'null', 'Null', 'NULL']) TABLE[s] = [K_NULL, null];
for (const s of ['.nan', '.NaN', '.NAN']) TABLE[s] = [K_FLOAT, NaN];
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) TABLE[s] = [K_FLOAT, Infinity];
for (const s of ['-.inf', '-.Inf', '-.INF']) TABLE[s] = [K_FLOAT, -Infinity];

// resolveTable hints: 1 sign, 2 digit, 3 map, 4 dot
const HINT = new Uint8Array(128);
HINT[43] = 1; // +
HINT[45] = 1; // -
for (let c = 48; c <= 57; c++) HINT[c] = 2;
for (const ch of 'yYnNtTfFoO~') HINT[ch.charCodeAt(0)] = 3;
HINT[46] = 4; // .

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/** Go's strconv underscoreOK: underscores only between digits (or after a base prefix). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const lower = c | 0x20;
    if ((c >= 48 && c <= 57) || (hex && lower >= 97 && lower <= 102)) {
      saw = '0';
      continue;
    }
    if (c === 95) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const DIGITS_RE: Record<number, RegExp> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };
const PREFIX: Record<number, string> = { 2: '0b', 8: '0o', 10: '', 16: '0x' };

/** Go strconv.ParseUint(s, 0, 64) on an underscore-free string; undefined on error. */
function parseUintBase0(s: string): bigint | undefined {
  if (s === '') return undefined;
  let base = 10;
  let digits = s;
  if (s[0] === '0') {
    const c = s.length >= 3 ? s[1] : '';
    if (c === 'b' || c === 'B') { base = 2; digits = s.slice(2); }
    else if (c === 'o' || c === 'O') { base = 8; digits = s.slice(2); }
    else if (c === 'x' || c === 'X') { base = 16; digits = s.slice(2); }
    else { base = 8; digits = s.slice(1); if (digits === '') return 0n; }
  }
  if (!DIGITS_RE[base]!.test(digits)) return undefined;
  const v = BigInt(PREFIX[base] + digits);
  return v <= UINT64_MAX ? v : undefined;
}

/** Go strconv.ParseUint(s, base, 64) for an explicit base (2), no prefix. */
function parseUintBase(s: string, base: number): bigint | undefined {
  if (s === '' || !DIGITS_RE[base]!.test(s)) return undefined;
  const v = BigInt(PREFIX[base] + s);
  return v <= UINT64_MAX ? v : undefined;
}

/** Go strconv.ParseInt: sign, then the unsigned parser, then the int64 range. */
function parseIntWith(s: string, unsigned: (t: string) => bigint | undefined): bigint | undefined {
  let neg = false;
  let t = s;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  const u = unsigned(t);
  if (u === undefined) return undefined;
  const v = neg ? -u : u;
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

function intValue(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Fast decimal check: 1-15 digits, no leading zero (or "0"), optional '-'. */
function smallDecimal(s: string): number {
  const n = s.length;
  let i = 0;
  if (s.charCodeAt(0) === 45) i = 1;
  if (n - i < 1 || n - i > 15) return NaN;
  const first = s.charCodeAt(i);
  if (first === 48 && n - i > 1) return NaN;
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return NaN;
  }
  return Number(s) + 0; // "+ 0" folds -0 into 0
}

/**
 * Resolve a plain scalar (go-yaml v2 resolve with tag ""). Returns the kind;
 * the value is left in `R.v`.
 */
export function resolvePlain(s: string): number {
  if (s.length === 0) {
    R.v = null;
    return K_NULL;
  }
  const c0 = s.charCodeAt(0);
  const hint = c0 < 128 ? HINT[c0]! : 0;
  if (hint === 0) {
    R.v = s;
    return K_STR;
  }
  if (hint === 2 || hint === 1) {
    const quick = smallDecimal(s);
    if (quick === quick) {
      R.v = quick;
      return K_INT;
    }
  }
  const hit = s.length <= 5 ? TABLE[s] : undefined;
  if (hit !== undefined) {
    R.v = hit[1];
    return hit[0];
  }
  if (hint === 3) {
    R.v = s;
    return K_STR;
  }
  if (hint === 4) {
    if (s.indexOf('_') >= 0 && !underscoreOK(s)) {
      R.v = s;
      return K_STR;
    }
    const plain = s.indexOf('_') >= 0 ? s.replace(/_/g, '') : s;
    if (DOT_FLOAT.test(plain)) {
      const f = Number(plain);
      if (Number.isFinite(f)) {
        R.v = f;
        return K_FLOAT;
      }
    }
    R.v = s;
    return K_STR;
  }
  // sign or digit
  return resolveNumberish(s);
}

function resolveNumberish(s: string): number {
  const plain = s.indexOf('_') >= 0 ? s.replace(/_/g, '') : s;
  const i = parseIntWith(plain, parseUintBase0);
  if (i !== undefined) {
    R.v = intValue(i);
    return K_INT;
  }
  const u = parseUintBase0(plain);
  if (u !== undefined) {
    if (u <= INT64_MAX) {
      R.v = intValue(u);
      return K_INT;
    }
    R.v = u;
    return K_UINT;
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) {
      R.v = f;
      return K_FLOAT;
    }
  }
  if (plain.startsWith('0b')) {
    const b = parseIntWith(plain.slice(2), (t) => parseUintBase(t, 2));
    if (b !== undefined) {
      R.v = intValue(b);
      return K_INT;
    }
    const ub = parseUintBase(plain.slice(2), 2);
    if (ub !== undefined) {
      R.v = ub <= INT64_MAX ? intValue(ub) : ub;
      return ub <= INT64_MAX ? K_INT : K_UINT;
    }
  } else if (plain.startsWith('-0b')) {
    const b = parseIntWith('-' + plain.slice(3), (t) => parseUintBase(t, 2));
    if (b !== undefined) {
      R.v = intValue(b);
      return K_INT;
    }
  }
  R.v = s;
  return K_STR;
}

/** The value kubectl's JSON round trip makes of a resolved scalar. */
export function jsonValue(kind: number, v: unknown): unknown {
  switch (kind) {
    case K_FLOAT:
      return jsonFloat(v as number);
    case K_UINT:
      return Number(v as bigint);
    default:
      return v;
  }
}

/** float64 after json.Marshal + int64-else-float64 parsing. */
export function jsonFloat(f: number): number | bigint {
  if (f !== f) throw new DecodeFailure('yaml-syntax', 'json: unsupported value: NaN (.nan has no JSON form)');
  if (f === Infinity || f === -Infinity) {
    throw new DecodeFailure('yaml-syntax', `json: unsupported value: ${f > 0 ? '+Inf' : '-Inf'} (.inf has no JSON form)`);
  }
  if (f === 0) return 0;
  if (Number.isInteger(f) && Math.abs(f) < 1e21) {
    if (Math.abs(f) <= MAX_SAFE) return f;
    const b = BigInt(String(f));
    if (b >= INT64_MIN && b <= INT64_MAX) return b;
  }
  return f;
}

/** Plain scalar straight to its final value (hot path). */
export function plainValue(s: string): unknown {
  const k = resolvePlain(s);
  if (k === K_STR || k === K_INT || k === K_BOOL || k === K_NULL) return R.v;
  return jsonValue(k, R.v);
}

/** A resolved key as sigs.k8s.io/yaml turns it into a JSON object key. */
export function keyString(kind: number, v: unknown): string {
  switch (kind) {
    case K_STR:
      return v as string;
    case K_BOOL:
      return v ? 'true' : 'false';
    case K_INT:
      return String(v);
    case K_FLOAT:
      return formatFloat32g(v as number);
    case K_NULL:
      throw new DecodeFailure('yaml-syntax', 'unsupported map key of type: <nil> (a null key has no JSON form)');
    default:
      throw new DecodeFailure('yaml-syntax', `unsupported map key of type: uint64, key: ${String(v)}`);
  }
}

export function plainKey(s: string): string {
  const k = resolvePlain(s);
  return k === K_STR ? (R.v as string) : keyString(k, R.v);
}

/** Go strconv.FormatFloat(f, 'g', -1, 32) with go-yaml's .inf/.nan names. */
export function formatFloat32g(f: number): string {
  if (f !== f) return '.nan';
  const x = Math.fround(f);
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const neg = x < 0;
  const a = Math.abs(x);
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const e = a.toExponential(p - 1);
    if (Math.fround(Number(e)) === a || p === 9) {
      const [m, ex] = e.split('e') as [string, string];
      digits = m.replace('.', '').replace(/0+$/, '') || '0';
      exp = Number(ex);
      break;
    }
  }
  let out: string;
  if (exp < -4 || exp >= 6) {
    const ae = Math.abs(exp);
    out = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
  } else {
    const dp = exp + 1;
    if (dp <= 0) out = '0.' + '0'.repeat(-dp) + digits;
    else if (dp >= digits.length) out = digits + '0'.repeat(dp - digits.length);
    else out = digits.slice(0, dp) + '.' + digits.slice(dp);
  }
  return neg ? '-' + out : out;
}

// ---------------------------------------------------------------- tags

export const TAG_PREFIX = 'tag:yaml.org,2002:';

/** go-yaml v2 parseTimestamp (the four layouts it tries), used for !!timestamp only. */
function isTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d > dim) return false;
  const h = m[4] ?? m[7];
  if (h !== undefined) {
    const mi = m[5] ?? m[8];
    const se = m[6] ?? m[9];
    if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return false;
  }
  return true;
}

const KIND_TAG = ['str', 'null', 'bool', 'int', 'int', 'float'];

/**
 * A scalar with an explicit tag (long form, e.g. tag:yaml.org,2002:int, or a
 * local tag such as !foo). `text` is the scalar's content. Returns kind and
 * leaves the value in R.v. Throws DecodeFailure on a type mismatch.
 */
export function resolveTagged(tag: string, text: string): number {
  const short = tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length) : '';
  switch (short) {
    case 'str':
      R.v = text;
      return K_STR;
    case 'binary': {
      R.v = decodeBinary(text);
      return K_STR;
    }
    case 'bool':
    case 'int':
    case 'float':
    case 'null':
      break;
    case 'timestamp': {
      const c0 = text.charCodeAt(0);
      if (c0 >= 48 && c0 <= 57 && isTimestamp(text)) {
        R.v = text;
        return K_STR;
      }
      break;
    }
    default:
      R.v = text;
      return K_STR;
  }
  const k = resolvePlain(text);
  const got = KIND_TAG[k]!;
  if (got === short) return k;
  if (short === 'float' && k === K_INT) {
    R.v = Number(R.v as number | bigint);
    return K_FLOAT;
  }
  throw new DecodeFailure('yaml-syntax', `cannot decode !!${got} \`${text}\` as a !!${short}`);
}

function decodeBinary(text: string): string {
  const clean = text.replace(/[\r\n]/g, ''); // Go's StdEncoding skips CR and LF only
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean)) {
    throw new DecodeFailure('yaml-syntax', '!!binary value contains invalid base64 data');
  }
  // Go's json.Marshal replaces invalid UTF-8 with U+FFFD.
  return new TextDecoder('utf-8').decode(Buffer.from(clean, 'base64'));
}
