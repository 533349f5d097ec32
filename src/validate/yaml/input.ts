/**
 * Input checks before any parsing, as kubectl reads a file: UTF-16 with a
 * byte order mark is decoded (kubectl's reader does); NUL bytes otherwise
 * mean binary input ('binary'); bytes that are not valid UTF-8 are replaced
 * with U+FFFD (one per maximal invalid subsequence, as kubectl does; the API
 * server then stores the replacement characters). Positions are 1-based line
 * and column (column in characters).
 */

import { DecodeError } from './types';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

export interface Text {
  text: string;
  error?: DecodeError;
}

function positionInBytes(b: Uint8Array, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = b.indexOf(10); i >= 0 && i < at; i = b.indexOf(10, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const column = lenient.decode(b.subarray(lineStart, at)).length + 1;
  return { line, column };
}

/** Offset of the first byte that does not start/continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

export function toText(input: string | Uint8Array): Text {
  if (typeof input === 'string') {
    const nul = input.indexOf('\0');
    if (nul >= 0) {
      let line = 1;
      let lineStart = 0;
      for (let i = input.indexOf('\n'); i >= 0 && i < nul; i = input.indexOf('\n', i + 1)) {
        line++;
        lineStart = i + 1;
      }
      return { text: '', error: { rule: 'binary', message: 'input contains NUL bytes: binary data, not a manifest', line, column: nul - lineStart + 1 } };
    }
    return { text: input };
  }
  if (!(input instanceof Uint8Array)) {
    return { text: '', error: { rule: 'binary', message: 'input is neither a string nor bytes', line: 1 } };
  }
  if (input.length >= 2 && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff))) {
    // UTF-16 with a byte order mark (the BOM is dropped); then the checks of a string
    return toText(new TextDecoder(input[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(input));
  }
  const nul = input.indexOf(0);
  if (nul >= 0) {
    const p = positionInBytes(input, nul);
    return { text: '', error: { rule: 'binary', message: `input contains NUL bytes (byte ${nul}): binary data, not a manifest`, ...p } };
  }
  try {
    return { text: fatal.decode(input) };
  } catch {
    // not valid UTF-8: replaced as kubectl does (WHATWG replacement, the same U+FFFD count)
    return { text: lenient.decode(input) };
  }
}
