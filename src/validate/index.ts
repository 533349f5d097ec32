import { decodeStream, type DecodeOptions } from './yaml';
import { Validator, type ObjectResult } from './validator';
import type { FieldError } from './errors';
import { MAX_REQUEST_BODY_BYTES, requestBodyBytes } from './request-size';

export { Validator, type ObjectResult, type ObjectOptions } from './validator';
export type { FieldError, CauseType } from './errors';

/** Options for validating a stream of manifests. */
export interface ValidateOptions extends DecodeOptions {
  /** Unknown fields are errors (`kubectl --validate=strict`). @default false */
  readonly strict?: boolean;
  /** Shown in results and messages. @default - none */
  readonly file?: string;
  /** Reuse one compiled validator across calls. @default - a shared one for our ten kinds */
  readonly validator?: Validator;
}

/** The verdict on one document of a stream. */
export interface DocumentResult extends Omit<ObjectResult, 'object'> {
  readonly file?: string;
  /** 0-based position among the stream's non-empty documents (kubectl's numbering). */
  readonly index: number;
  /** 1-based line where the document starts. */
  readonly line?: number;
}

let shared: Validator | undefined;
/** The validator for our ten kinds, compiled on first use. */
export function defaultValidator(): Validator {
  return (shared ??= new Validator());
}

/**
 * Validates a YAML or JSON stream (one or many documents) the way kubectl
 * reads it and kube-apiserver judges it. Never throws for bad input: every
 * problem becomes an error on the document it belongs to.
 */
export function validateText(input: string | Uint8Array, opts: ValidateOptions = {}): DocumentResult[] {
  const validator = opts.validator ?? defaultValidator();
  const out: DocumentResult[] = [];
  const unreadable = (line: number, message: string, rule: string): void => {
    out.push({ file: opts.file, index: out.length, line, valid: false, skipped: false, errors: [{ field: '', type: 'DocumentInvalid', message, rule }], warnings: [] });
  };
  for (const doc of decodeStream(input, opts)) {
    if (doc.error) {
      const where = doc.error.line ? ` (line ${doc.error.line}${doc.error.column ? `, column ${doc.error.column}` : ''})` : '';
      unreadable(doc.line, `${doc.error.message}${where}`, doc.error.rule);
      continue;
    }
    // kubectl reads a list (`kind: List`, `VMClassList`, any *List kind) as its items; none of our kinds ends in List
    const kind = (doc.value as { kind?: unknown }).kind;
    if (typeof kind === 'string' && kind.endsWith('List')) {
      const items = (doc.value as { items?: unknown }).items;
      if (!Array.isArray(items)) {
        // kubectl's client-side check refuses it before sending anything
        unreadable(doc.line, `${kind} without an items list: invalid object to validate (kubectl refuses it)`, 'list');
        continue;
      }
      for (const item of items) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          unreadable(doc.line, `an item of ${kind} is not an object: invalid object to validate (kubectl refuses it)`, 'list');
        } else if (typeof (item as { kind?: unknown }).kind === 'string' && String((item as { kind: string }).kind).endsWith('List') && Array.isArray((item as { items?: unknown }).items)) {
          unreadable(doc.line, `a list inside ${kind}: kubectl does not expand nested lists (*unstructured.Unstructured is not a list)`, 'list');
        } else out.push(judge(validator, item, doc.line, out.length, opts));
      }
      continue;
    }
    out.push(judge(validator, doc.value, doc.line, out.length, opts));
  }
  return out;
}

function judge(validator: Validator, value: unknown, line: number, index: number, opts: ValidateOptions): DocumentResult {
  // measured before validation prunes and defaults in place: the body is what kubectl would send
  const body = requestBodyBytes(value as Record<string, unknown>);
  const r = validator.validateObject(value, { strict: opts.strict, inPlace: true });
  if (!r.skipped && body > MAX_REQUEST_BODY_BYTES) {
    // the API server refuses the request before reading it: that is the only error
    r.errors.splice(0, r.errors.length, {
      field: '',
      type: 'DocumentInvalid',
      message: `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES} (kubectl would send ${body} bytes of JSON)`,
      rule: 'size-limit',
    });
    (r as { valid: boolean }).valid = false;
  }
  if (!r.valid) withHints(r);
  return {
    file: opts.file,
    index,
    line,
    apiVersion: r.apiVersion,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    valid: r.valid,
    skipped: r.skipped,
    errors: r.errors,
    warnings: r.warnings,
  };
}

/** Validates already-decoded objects (for example from a cdk8s app). */
export function validateObjects(objects: readonly unknown[], opts: { strict?: boolean; file?: string; validator?: Validator } = {}): DocumentResult[] {
  const validator = opts.validator ?? defaultValidator();
  return objects.map((o, index) => {
    const { object: _object, ...r } = withHints(validator.validateObject(o, { strict: opts.strict }));
    return { ...r, file: opts.file, index };
  });
}

/** Validates an update: `next` replacing the stored `old`, so transition rules (`oldSelf`) are checked. */
export function validateUpdate(old: unknown, next: unknown, opts: { strict?: boolean; validator?: Validator } = {}): ObjectResult {
  return withHints((opts.validator ?? defaultValidator()).validateObject(next, { strict: opts.strict, old }));
}

/**
 * Adds a hint where YAML 1.1 bit: kubectl reads an unquoted On, Off, yes or
 * no as a boolean, so a string field gets `true`/`false`.
 */
function withHints<T extends { errors: FieldError[] }>(r: T): T {
  for (const e of r.errors) {
    if (e.type === 'FieldValueTypeInvalid' && e.message.includes('"boolean"') && / must be of type string/.test(e.message)) {
      (e as { hint?: string }).hint = 'quote the value: unquoted On, Off, yes, no, y and n are booleans in YAML 1.1, which kubectl uses (write "On")';
    }
  }
  return r;
}
