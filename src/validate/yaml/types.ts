/** Public types of the manifest decoder (see index.ts for the behaviour). */

export interface DecodeError {
  /** Short machine-readable rule: 'yaml-syntax' | 'duplicate-key' | 'alias-limit' | 'depth-limit' | 'size-limit' | 'invalid-utf8' | 'binary' | 'not-an-object' | 'json-syntax' */
  rule: string;
  /** One line, human, e.g. 'mapping key "spec" already defined at line 3'. */
  message: string;
  /** 1-based, in the whole input. */
  line?: number;
  /** 1-based. */
  column?: number;
}

export interface DecodedDocument {
  /** 0-based position in the stream; empty, comment-only and null documents are skipped and take no index (as kubectl does). */
  index: number;
  /** 1-based line where the document starts (its first line holding content). */
  line: number;
  /** The decoded value when there is no error. */
  value?: unknown;
  error?: DecodeError;
}

export interface DecodeOptions {
  /** Default 1000 nesting levels. */
  maxDepth?: number;
  /** Total nodes produced through aliases (and merges of aliases) per document; default 100000. */
  maxAliasExpansion?: number;
  /** Per document, in UTF-8 bytes; default 4 MiB (the API server refuses bodies over 3 MiB). */
  maxDocumentBytes?: number;
}

export interface Limits {
  maxDepth: number;
  maxAliasExpansion: number;
  maxDocumentBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 1000,
  maxAliasExpansion: 100_000,
  maxDocumentBytes: 4 * 1024 * 1024,
});

export function limitsOf(opts: DecodeOptions | undefined): Limits {
  const pick = (v: unknown, d: number): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : d;
  return {
    maxDepth: pick(opts?.maxDepth, DEFAULT_LIMITS.maxDepth),
    maxAliasExpansion: pick(opts?.maxAliasExpansion, DEFAULT_LIMITS.maxAliasExpansion),
    maxDocumentBytes: pick(opts?.maxDocumentBytes, DEFAULT_LIMITS.maxDocumentBytes),
  };
}

/**
 * Internal: thrown inside a document's decoding and turned into that
 * document's DecodeError. `offset` is a UTF-16 offset into the whole text when
 * known (line/column are derived from it), else `line`/`column` are used.
 */
export class DecodeFailure extends Error {
  constructor(
    readonly rule: string,
    message: string,
    readonly offset = -1,
    readonly line = 0,
    readonly column = 0,
  ) {
    super(message);
  }
}
