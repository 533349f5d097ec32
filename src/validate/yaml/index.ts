/**
 * Manifest decoder: a multi-document YAML (or JSON) stream -> one value per
 * document, with the verdicts of `kubectl apply -f`.
 *
 * Stream handling follows kubectl (k8s.io/cli-runtime StreamVisitor and
 * k8s.io/apimachinery pkg/util/yaml):
 *  - If the first non-space character is `{`, the input is read as a stream
 *    of JSON values (json.ts), falling back to YAML as kubectl does.
 *  - Otherwise documents are split on lines that start with `---` (kubectl's
 *    YAMLReader, not the YAML grammar): the rest of such a line may only be
 *    spaces or a `# comment`, else the document that follows fails with
 *    "invalid YAML document separator" (kubectl rejects `--- |`, `--- {}`,
 *    `----`). Each piece is decoded on its own, so a syntax error stays in
 *    its document. Within a piece only the first YAML document counts (text
 *    after a `...` line is ignored, as go-yaml's Unmarshal does).
 *  - Documents that are empty, only comments, or null (`~`, `null`) are
 *    skipped and take no index. A document whose value is not a mapping
 *    fails with 'not-an-object'.
 *  - Scalars, keys, tags, merges: see scalars.ts and full.ts.
 *  - Documents are decoded by the fast block-subset decoder (fast.ts) and,
 *    when it declines, by the full YAML path (full.ts).
 *
 *  - Bytes that are not valid UTF-8 become U+FFFD, UTF-16 with a byte order
 *    mark is decoded, and a piece that starts with a directive (`%YAML`) fails,
 *    as kubectl does (input.ts).
 *
 * Differences from kubectl, on purpose: duplicate mapping keys fail the
 * document ('duplicate-key'; kubectl's client-side decoding silently keeps
 * the last value, the API server's strict YAML decoding rejects them); a
 * failing document does not stop the stream (kubectl stops at the first
 * error); limits (depth, alias expansion, size) are ours.
 */

import { DecodeError, DecodedDocument, DecodeFailure, DecodeOptions, Limits, limitsOf } from './types';
import * as F from './fast';
import { fullDecode } from './full';
import { JsonSyntax, jsonEnd, jsonExtent, parseJsonValue, skipJsonSpace } from './json';
import { isPlainObject as isPlainObjectImported } from './objects';
import { LineIndex } from './positions';
import { toText } from './input';

export type { DecodeError, DecodedDocument, DecodeOptions } from './types';

// Local bindings for the per-document hot path (module objects use getters).
const FALLBACK = F.FALLBACK;
const fastDecode = F.fastDecode;
const fastOut = F.fastOut;
const isPlainObject = isPlainObjectImported;

class Stream {
  readonly docs: DecodedDocument[] = [];
  readonly lines: LineIndex;

  constructor(readonly text: string, readonly lim: Limits) {
    this.lines = new LineIndex(text);
  }

  error(line: number, e: DecodeFailure | DecodeError): void {
    const err: DecodeError = { rule: e.rule, message: oneLine(e.message) };
    if (e instanceof DecodeFailure) {
      if (e.offset >= 0) {
        const p = this.lines.at(e.offset);
        err.line = p.line;
        err.column = p.column;
      } else if (e.line > 0) {
        err.line = e.line;
        if (e.column > 0) err.column = e.column;
      }
    } else {
      if (e.line !== undefined) err.line = e.line;
      if (e.column !== undefined) err.column = e.column;
    }
    this.docs.push({ index: this.docs.length, line, error: err });
  }

  value(line: number, v: unknown, offset: number): void {
    if (v === null || v === undefined) return; // empty / null document: skipped, as kubectl does
    if (!isPlainObject(v)) {
      const what = Array.isArray(v) ? 'a sequence' : `a ${typeof v === 'bigint' ? 'number' : typeof v} scalar`;
      this.error(line, new DecodeFailure('not-an-object', `document is ${what}, not a mapping (an object needs apiVersion and kind)`, offset));
      return;
    }
    this.docs.push({ index: this.docs.length, line, value: v });
  }

  // ------------------------------------------------------------------ YAML

  yaml(from: number): void {
    const text = this.text;
    const n = text.length;
    const max = this.lim.maxDocumentBytes;
    let pos = from;
    let line = from === 0 ? 1 : this.lines.at(from).line;
    let sep: DecodeFailure | null = null;
    let sepLine = 0;
    for (;;) {
      // the document starting at `pos`: fast path first (it also finds the end)
      let v: unknown = FALLBACK;
      let fastError: DecodeFailure | null = null;
      if (!sep) {
        try {
          v = fastDecode(text, pos, line, this.lim, max);
        } catch (e) {
          fastError = asFailure(e, pos);
        }
      }
      let end: number;
      let endLine: number;
      let first: number;
      let firstAt: number;
      if (v !== FALLBACK) {
        end = fastOut.end;
        endLine = fastOut.endLine;
        first = fastOut.firstLine;
        firstAt = fastOut.firstOffset;
        if ((end - pos) * 3 > max && firstAt >= 0 && Buffer.byteLength(text.slice(pos, end), 'utf8') > max) {
          v = FALLBACK; // too large after all: let the checks below report it
        }
      } else {
        ({ end, endLine, first, firstAt } = this.frame(pos, line));
      }
      if (sep) {
        this.error(sepLine, sep);
      } else if (fastError) {
        this.error(first, fastError);
      } else if (v !== FALLBACK) {
        this.value(first, v, firstAt);
      } else if (firstAt >= 0) {
        const len = end - pos;
        if (len > max || (len * 3 > max && Buffer.byteLength(text.slice(pos, end), 'utf8') > max)) {
          this.error(first, new DecodeFailure('size-limit', `document is larger than ${max} bytes (maxDocumentBytes)`, firstAt));
        } else if (text.charCodeAt(firstAt) === 37 && (firstAt === 0 || text.charCodeAt(firstAt - 1) === 10)) {
          // a directive (%YAML, %TAG): kubectl splits on every `---` line, so the `---` that
          // must follow a directive always ends the piece, and go-yaml fails on the piece
          this.error(first, new DecodeFailure('yaml-syntax', 'did not find expected <document start> (a %YAML or %TAG directive; kubectl cannot read them)', firstAt));
        } else {
          try {
            this.value(first, fullDecode(text, pos, end, this.lim, this.lines), firstAt);
          } catch (e) {
            this.error(first, asFailure(e, firstAt));
          }
        }
      }
      if (end >= n) return;
      // `end` starts a `---` line
      const nl = text.indexOf('\n', end);
      const lineEnd = nl < 0 ? n : nl;
      const rest = text.slice(end + 3, lineEnd).trim();
      sep = rest.length > 0 && rest[0] !== '#'
        ? new DecodeFailure('yaml-syntax', `invalid YAML document separator: ${rest}`, end)
        : null;
      sepLine = endLine;
      pos = nl < 0 ? n : nl + 1;
      line = endLine + 1;
    }
  }

  /** Where the document starting at `pos` ends (kubectl's `---` framing) and where its content starts. */
  private frame(pos: number, line: number): { end: number; endLine: number; first: number; firstAt: number } {
    const text = this.text;
    const n = text.length;
    let first = 0;
    let firstAt = -1;
    let p = pos;
    let l = line;
    while (p < n) {
      if (text.charCodeAt(p) === 45 && text.charCodeAt(p + 1) === 45 && text.charCodeAt(p + 2) === 45) break;
      const nl = text.indexOf('\n', p);
      const lineEnd = nl < 0 ? n : nl;
      if (firstAt < 0) {
        let i = p;
        while (i < lineEnd) {
          const c = text.charCodeAt(i);
          if (c === 32 || c === 9 || c === 13) i++;
          else break;
        }
        if (i < lineEnd && text.charCodeAt(i) !== 35) {
          firstAt = i;
          first = l;
        }
      }
      if (nl < 0) {
        p = n;
        break;
      }
      p = nl + 1;
      l++;
    }
    return { end: p, endLine: l, first, firstAt };
  }

  // ------------------------------------------------------------------ JSON

  json(from: number): void {
    const text = this.text;
    const n = text.length;
    const max = this.lim.maxDocumentBytes;
    let p = from;
    let lastEnd = from;
    let count = 0;
    for (;;) {
      p = skipJsonSpace(text, p);
      if (p >= n) return;
      const at = p;
      const line = this.lines.at(at).line;
      if (n - at > max) {
        const ext = jsonExtent(text, at, at + max + 1);
        if (ext < 0 || Buffer.byteLength(text.slice(at, ext), 'utf8') > max) {
          this.error(line, new DecodeFailure('size-limit', `document is larger than ${max} bytes (maxDocumentBytes)`, at));
          return; // its end is unknown: nothing after it can be framed
        }
      }
      try {
        const v = parseJsonValue(text, at, this.lim);
        p = jsonEnd;
        lastEnd = p;
        count++;
        this.value(line, v, at);
      } catch (e) {
        if (e instanceof JsonSyntax) {
          if (count <= 1) {
            // kubectl: not (or no longer) a JSON stream; read the rest as YAML,
            // after the whitespace up to and including the first newline
            let q = lastEnd;
            while (q < n) {
              const c = text.charCodeAt(q);
              if (c === 10) {
                q++;
                break;
              }
              if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) q++;
              else break;
            }
            this.yaml(q);
            return;
          }
          this.error(line, new DecodeFailure('json-syntax', `json: ${e.message}`, e.offset));
          return;
        }
        // well-formed JSON that fails (limits, duplicate key, number range)
        this.error(line, asFailure(e, at));
        const end = jsonExtent(text, at, n);
        if (end < 0) return;
        p = end;
        lastEnd = p;
        count++;
      }
    }
  }
}

function asFailure(e: unknown, offset: number): DecodeFailure {
  if (e instanceof DecodeFailure) return e.offset >= 0 || e.line > 0 ? e : new DecodeFailure(e.rule, e.message, offset);
  if (e instanceof RangeError) return new DecodeFailure('depth-limit', 'nesting too deep to decode', offset);
  return new DecodeFailure('yaml-syntax', `cannot decode: ${e instanceof Error ? e.message : String(e)}`, offset);
}

function oneLine(s: string): string {
  const t = s.replace(/\s*\n\s*/g, ' ').trim();
  return t.length > 300 ? t.slice(0, 297) + '...' : t;
}

/** Go's unicode.IsSpace, for kubectl's "is this JSON" sniffing. */
function isGoSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/**
 * Decode every document of a manifest stream. Never throws: problems are
 * reported per document in `error`.
 */
export function decodeStream(input: string | Uint8Array, opts?: DecodeOptions): DecodedDocument[] {
  try {
    const lim = limitsOf(opts);
    const t = toText(input);
    if (t.error) return [{ index: 0, line: t.error.line ?? 1, error: t.error }];
    const s = new Stream(t.text, lim);
    const text = t.text;
    let i = 0;
    while (i < text.length && isGoSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 123) s.json(0);
    else s.yaml(0);
    return s.docs;
  } catch (e) {
    return [
      {
        index: 0,
        line: 1,
        error: { rule: 'yaml-syntax', message: `cannot decode the stream: ${e instanceof Error ? e.message : String(e)}` },
      },
    ];
  }
}
