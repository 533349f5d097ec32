/**
 * The size of the request body kubectl sends for an object, against the API
 * server's limit (--max-request-body-bytes, 3 MiB by default): Go's
 * encoding/json of the object (compact; `<`, `>`, `&`, U+2028 and U+2029
 * written as \u escapes, control characters as \n or \u00XX), with
 * metadata.namespace filled in by kubectl when the file has none, and the
 * newline its encoder ends the body with. Measured with kubectl v1.37.2
 * against kube-apiserver v1.37.2: a body of exactly 3,145,728 bytes is
 * accepted, one more byte is refused with "Request entity too large".
 */

export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/** Characters whose JSON or UTF-8 size the native byte count does not give (escapes, surrogates). */
const SPECIAL = /["\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** Bytes of Go's JSON for a string, quotes included. */
function stringBytes(s: string): number {
  if (s.length > 24 && !SPECIAL.test(s)) return 2 + Buffer.byteLength(s, 'utf8'); // native, for long strings
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 34 && c !== 92 && c !== 60 && c !== 62 && c !== 38) n += 1;
      else if (c === 34 || c === 92 || c === 10 || c === 13 || c === 9) n += 2;
      else n += 6; // \u00XX, \u003c, \u003e, \u0026
    } else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else if ((c >= 0xd800 && c <= 0xdfff) || c === 0x2028 || c === 0x2029) n += 6; // \ufffd for a lone surrogate
    else n += 3;
  }
  return n;
}

/** Bytes of Go's compact JSON for a decoded value (no recursion limit concerns: depth is capped by the decoder). */
export function jsonBytes(v: unknown): number {
  if (v === null || v === undefined) return 4;
  switch (typeof v) {
    case 'string':
      return stringBytes(v);
    case 'boolean':
      return v ? 4 : 5;
    case 'bigint':
      return v.toString().length;
    case 'number':
      // Go's float formatting switches to exponents where JavaScript does (below 1e-6, from 1e21)
      return String(v).length;
    case 'object': {
      if (Array.isArray(v)) {
        let n = 2 + Math.max(0, v.length - 1);
        for (const x of v) n += jsonBytes(x);
        return n;
      }
      const keys = Object.keys(v as object);
      let n = 2 + Math.max(0, keys.length - 1);
      for (const k of keys) n += stringBytes(k) + 1 + jsonBytes((v as Record<string, unknown>)[k]);
      return n;
    }
    default:
      return 4;
  }
}

/**
 * Bytes of the body kubectl sends to create `obj` (a namespaced kind): when
 * the object names no namespace kubectl adds the one it uses (`namespace`,
 * "default" unless told otherwise).
 */
export function requestBodyBytes(obj: Record<string, unknown>, namespace = 'default'): number {
  let n = jsonBytes(obj) + 1; // the encoder's trailing newline
  const meta = obj.metadata;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    if ((meta as Record<string, unknown>).namespace === undefined) {
      n += (Object.keys(meta).length > 0 ? 1 : 0) + stringBytes('namespace') + 1 + stringBytes(namespace);
    }
  } else if (meta === undefined) {
    n += 1 + stringBytes('metadata') + 1 + 2 + stringBytes('namespace') + 1 + stringBytes(namespace);
  }
  return n;
}
