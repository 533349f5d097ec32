import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateText, defaultValidator, type DocumentResult } from '../validate';
import { Progress } from './progress';

const USAGE = `Usage: virtrigaud validate [--strict] [--output text|json] PATH...

Validates manifests of infra.virtrigaud.io/v1beta1 offline, with the verdicts
kube-apiserver would give. PATH is a file, a directory (searched recursively
for *.yaml, *.yml and *.json) or - for standard input.

  --strict          unknown fields are errors (as kubectl --validate=strict)
  -o, --output      text (default) or json

Exit status: 0 when every document is valid, 1 when any is invalid,
2 on usage or read errors.`;

interface Args {
  strict: boolean;
  output: 'text' | 'json';
  paths: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { strict: false, output: 'text', paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--strict') args.strict = true;
    else if (a === '-o' || a === '--output') {
      const v = argv[++i];
      if (v !== 'text' && v !== 'json') throw new UsageError(`--output takes text or json, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
      args.output = v;
    } else if (a.startsWith('--output=')) {
      const v = a.slice('--output='.length);
      if (v !== 'text' && v !== 'json') throw new UsageError(`--output takes text or json, got ${JSON.stringify(v)}`);
      args.output = v;
    } else if (a === '-h' || a === '--help') throw new UsageError('');
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag ${a}`);
    else args.paths.push(a);
  }
  if (args.paths.length === 0) throw new UsageError('give at least one PATH (a file, a directory or -)');
  return args;
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** Expands directories into their manifest files, sorted; collects read errors. */
function expand(paths: string[], readErrors: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, top: boolean) => {
    if (p === '-') {
      out.push(p);
      return;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      readErrors.push(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) {
        const child = path.join(p, name);
        const cst = fs.statSync(child, { throwIfNoEntry: false });
        if (cst?.isDirectory()) visit(child, false);
        else if (MANIFEST.test(name)) out.push(child);
      }
    } else if (top || MANIFEST.test(p)) out.push(p);
  };
  for (const p of paths) visit(p, true);
  return out;
}

function readInput(p: string): Uint8Array {
  return p === '-' ? fs.readFileSync(0) : fs.readFileSync(p);
}

/** `virtrigaud validate ...`; returns the exit status. */
export function runValidate(argv: string[], out = process.stdout, err = process.stderr): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) err.write(`error: ${e.message}\n\n`);
      err.write(`${USAGE}\n`);
      return e.message ? 2 : 0;
    }
    throw e;
  }
  const readErrors: string[] = [];
  const files = expand(args.paths, readErrors);
  const validator = defaultValidator();
  const results: DocumentResult[] = [];
  const progress = new Progress(files.length, 'validating');
  files.forEach((file, i) => {
    let bytes: Uint8Array;
    try {
      bytes = readInput(file);
    } catch (e) {
      readErrors.push(`${file}: ${(e as Error).message}`);
      return;
    }
    results.push(...validateText(bytes, { strict: args.strict, file: file === '-' ? '<stdin>' : file, validator }));
    progress.update(i + 1);
  });
  progress.done();
  for (const e of readErrors) err.write(`error: ${e}\n`);
  if (args.output === 'json') out.write(`${JSON.stringify({ documents: results.map(toJson) }, null, 2)}\n`);
  else writeText(results, files.length, out);
  if (readErrors.length > 0) return 2;
  return results.some((r) => !r.valid) ? 1 : 0;
}

function toJson(r: DocumentResult) {
  return {
    file: r.file ?? null,
    index: r.index,
    line: r.line ?? null,
    apiVersion: r.apiVersion ?? null,
    kind: r.kind ?? null,
    namespace: r.namespace ?? null,
    name: r.name ?? null,
    valid: r.valid,
    skipped: r.skipped,
    errors: r.errors.map((e) => ({ field: e.field, type: e.type, message: e.message, ...(e.hint ? { hint: e.hint } : {}) })),
    warnings: r.warnings,
  };
}

/** `file[index] Kind namespace/name` — the document's address in text output. */
export function address(r: DocumentResult): string {
  const who = r.kind ? ` ${r.kind}${r.name ? ` ${r.namespace ? `${r.namespace}/` : ''}${r.name}` : ''}` : '';
  return `${r.file ?? '<input>'}[${r.index}]${who}`;
}

function writeText(results: DocumentResult[], files: number, out: NodeJS.WritableStream): void {
  let invalid = 0;
  let skipped = 0;
  for (const r of results) {
    if (!r.valid) invalid++;
    if (r.skipped) skipped++;
    for (const e of r.errors) {
      // Like kubectl, a fieldless API error is shown at <nil>; a document that could not be read has no field at all.
      const field = e.field ? `${e.field}: ` : e.type === 'DocumentInvalid' ? '' : '<nil>: ';
      out.write(`${address(r)}: ${field}${e.message}\n`);
      if (e.hint) out.write(`  hint: ${e.hint}\n`);
    }
    for (const w of r.warnings) out.write(`${address(r)}: warning: ${w}\n`);
  }
  const valid = results.length - invalid - skipped;
  out.write(`${results.length} document${results.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}: ${valid} valid, ${invalid} invalid, ${skipped} skipped\n`);
}
