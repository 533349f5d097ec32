/**
 * Side-by-side benchmark of offline validation: sigs.k8s.io/kubectl-validate
 * against our validator (src/validate), on one generated corpus of
 * VirtualMachine manifests (bench/corpus.ts). Not a test: run it with
 *
 *   npx tsx bench/validate.bench.ts [--count N] [--seed S|random] [--runs R]
 *       [--layout multi|files|both] [--skip-kubectl-validate] [--skip-ours]
 *       [--keep] [--json FILE]
 *
 * It writes the corpus to a temporary directory (one multi-document file
 * and/or one file per document), then measures
 *   - kubectl-validate end to end (wall time, CPU, peak RSS), one process per
 *     layout, with --local-crds (dist/crds.yaml) and no cluster or network;
 *   - ours in process (documents/s calling the library; in a child process
 *     so its peak RSS is its own);
 *   - ours end to end through the CLI (node bin/virtrigaud.js validate).
 * Both tools are judged against the generator's intent and against each
 * other; the results are printed as markdown tables.
 *
 * Ours is run with strict decoding (unknown fields are errors), because
 * kubectl-validate always decodes strictly.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  DEFAULT_COUNT, DEFAULT_SEED, corpusStats, generateCorpus, parseSeed, writeCorpus, type CorpusDoc, type Layout,
} from './corpus';

const REPO = resolve(__dirname, '..');
const CRDS = join(REPO, 'dist', 'crds.yaml');
/** Native-schema version kubectl-validate is told to use; built in, so it never asks GitHub. */
const KUBE_VERSION = '1.35';

// ============================================================================
// Adapter: the only code that knows our validator's API. If the entry point
// or its name changes, edit OURS_MODULE or OURS_ENTRY_POINTS (one line).
// ============================================================================

const OURS_MODULE = join(REPO, 'src', 'validate');
/** Tried in order; the first exported function wins. */
const OURS_ENTRY_POINTS = ['validateDocuments', 'validateText'] as const;
const OURS_CLI = join(REPO, 'bin', 'virtrigaud.js');

/** One tool's judgement of one document. */
export interface Verdict {
  readonly valid: boolean;
  /** First error, `field: message`, for the disagreement list. */
  readonly message?: string;
}

export interface OurValidator {
  /** Which entry point is used, for the report. */
  readonly api: string;
  validate(text: string, file: string): Promise<Verdict[]>;
}

type EntryPoint = (text: string, opts: { file?: string; strict?: boolean }) => unknown;

/** Our validator, or why it cannot be used yet. */
export async function loadOurs(): Promise<OurValidator | { unavailable: string }> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(OURS_MODULE)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!existsSync(OURS_MODULE)) return { unavailable: 'src/validate does not exist' };
    const first = String(err.message).split('\n')[0];
    return { unavailable: `src/validate does not load (${err.code ?? 'error'}: ${first})` };
  }
  for (const name of OURS_ENTRY_POINTS) {
    const fn = mod[name];
    if (typeof fn === 'function') {
      return {
        api: `${name}(text, { file, strict: true })`,
        validate: async (text, file) => toVerdicts(await (fn as EntryPoint)(text, { file, strict: true })),
      };
    }
  }
  return { unavailable: `src/validate exports none of ${OURS_ENTRY_POINTS.join(', ')}` };
}

interface LooseDocument {
  valid?: unknown;
  errors?: unknown;
  file?: unknown;
  index?: unknown;
}

function documentsOf(result: unknown): LooseDocument[] {
  if (Array.isArray(result)) return result as LooseDocument[];
  const docs = (result as { documents?: unknown } | null)?.documents;
  if (Array.isArray(docs)) return docs as LooseDocument[];
  throw new Error('expected an array of document results or { documents: [...] }');
}

function firstMessage(errors: unknown): string | undefined {
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const e = errors[0] as unknown;
  if (typeof e === 'string') return e;
  const { field, message } = e as { field?: unknown; message?: unknown };
  return `${typeof field === 'string' && field ? `${field}: ` : ''}${String(message)}`;
}

function verdictOf(d: LooseDocument): Verdict {
  const valid = typeof d.valid === 'boolean' ? d.valid : Array.isArray(d.errors) && d.errors.length === 0;
  return { valid, message: valid ? undefined : firstMessage(d.errors) };
}

function toVerdicts(result: unknown): Verdict[] {
  return documentsOf(result).map(verdictOf);
}

// ============================================================================
// Measuring processes
// ============================================================================

interface Measured {
  readonly wall: number;
  /** user + system seconds; undefined without /usr/bin/time. */
  readonly cpu?: number;
  readonly maxRssMiB?: number;
  readonly code: number | null;
}

const TIME = '/usr/bin/time';
const HAVE_TIME = existsSync(TIME);

/** Runs a command with stdout to a file, stderr to another; wall via hrtime, CPU and peak RSS via GNU time. */
function measure(cmd: string, args: string[], io: { stdout: string; stderr: string; env?: NodeJS.ProcessEnv; cwd?: string }): Measured {
  const timeFile = `${io.stderr}.time`;
  const out = openSync(io.stdout, 'w');
  const err = openSync(io.stderr, 'w');
  const argv = HAVE_TIME ? [TIME, '-o', timeFile, '-f', '%U %S %M', cmd, ...args] : [cmd, ...args];
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', out, err], env: io.env ?? process.env, cwd: io.cwd });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(out);
  closeSync(err);
  if (r.error) throw r.error;
  if (!HAVE_TIME) return { wall, code: r.status };
  const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
  const [user, sys, rssKiB] = last.split(' ').map(Number);
  return { wall, cpu: user + sys, maxRssMiB: rssKiB / 1024, code: r.status };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs `once` `runs` times and keeps the run with the median wall time. */
function medianRun(runs: number, once: (i: number) => Measured): Measured & { readonly runs: number; readonly walls: number[] } {
  const all = Array.from({ length: runs }, (_, i) => once(i));
  const m = median(all.map((r) => r.wall));
  const pick = all.reduce((best, r) => (Math.abs(r.wall - m) < Math.abs(best.wall - m) ? r : best));
  return { ...pick, runs, walls: all.map((r) => r.wall) };
}

/** `label: 85.1 / 86.0 / 90.2 s` when there was more than one run. */
function spread(label: string, m: { readonly walls: number[] }): string | undefined {
  return m.walls.length > 1 ? `${label}: wall ${m.walls.map((w) => w.toFixed(2)).join(' / ')} s (median kept)` : undefined;
}

// ============================================================================
// kubectl-validate
// ============================================================================

interface KvStatus {
  status?: string;
  message?: string;
}

function kubectlValidateVersion(): string {
  const gomod = readFileSync(join(REPO, 'tools', 'kubectl-validate', 'go.mod'), 'utf8');
  return /^\s*sigs\.k8s\.io\/kubectl-validate\s+(v\S+)/m.exec(gomod)?.[1] ?? 'unknown';
}

/** The directory from scripts/kubectl-validate.sh (its last stdout line); progress passes through on stderr. */
function provideKubectlValidate(): string | { unavailable: string } {
  const r = spawnSync('bash', [join(REPO, 'scripts', 'kubectl-validate.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const dir = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !dir) return { unavailable: `scripts/kubectl-validate.sh exited ${r.status ?? r.signal}` };
  return join(dir, 'kubectl-validate');
}

/** Per-document verdicts from `-o json` output: { path: [status per document] }. */
function kvVerdicts(jsonText: string, docs: readonly CorpusDoc[], layout: 'multi' | 'files'): (Verdict | undefined)[] {
  const parsed = JSON.parse(jsonText) as Record<string, KvStatus[]>;
  const out: (Verdict | undefined)[] = new Array(docs.length).fill(undefined);
  const byFile = new Map(docs.map((d) => [d.file, d.index]));
  const toVerdict = (s: KvStatus): Verdict => (s.status === 'Success' ? { valid: true } : { valid: false, message: s.message });
  for (const [path, statuses] of Object.entries(parsed)) {
    if (layout === 'multi') statuses.forEach((s, i) => void (i < out.length && (out[i] = toVerdict(s))));
    else {
      const idx = byFile.get(basename(path));
      if (idx !== undefined && statuses[0]) out[idx] = toVerdict(statuses[0]);
    }
  }
  return out;
}

// ============================================================================
// Ours, in a child process
// ============================================================================

interface WorkerReport {
  readonly api?: string;
  readonly unavailable?: string;
  readonly error?: string;
  readonly docs?: number;
  /** Seconds per timed run over the whole multi-document text. */
  readonly seconds?: number[];
  readonly cpuSeconds?: number;
  readonly firstRunSeconds?: number;
  readonly verdicts?: Verdict[];
}

/** `--worker FILE RUNS OUT`: validate FILE's text RUNS times (after one untimed run), write a WorkerReport to OUT. */
async function worker(file: string, runs: number, outFile: string): Promise<void> {
  const write = (r: WorkerReport): void => writeFileSync(outFile, JSON.stringify(r));
  const ours = await loadOurs();
  if ('unavailable' in ours) return write({ unavailable: ours.unavailable });
  const text = readFileSync(file, 'utf8');
  try {
    let t = process.hrtime.bigint();
    const verdicts = await ours.validate(text, file);
    const firstRunSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    const seconds: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < runs; i++) {
      t = process.hrtime.bigint();
      await ours.validate(text, file);
      seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    const cpu = process.cpuUsage(cpu0);
    write({ api: ours.api, docs: verdicts.length, seconds, firstRunSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, verdicts });
  } catch (e) {
    write({ api: ours.api, error: (e as Error).stack ?? String(e) });
  }
}

/** Per-document verdicts from our CLI's `--output json` ({ documents: [{ file, index, valid, errors }] }). */
function cliVerdicts(jsonText: string, docs: readonly CorpusDoc[], layout: 'multi' | 'files'): (Verdict | undefined)[] {
  const out: (Verdict | undefined)[] = new Array(docs.length).fill(undefined);
  const byFile = new Map(docs.map((d) => [d.file, d.index]));
  for (const d of documentsOf(JSON.parse(jsonText))) {
    const idx = layout === 'multi' ? (typeof d.index === 'number' ? d.index : undefined) : byFile.get(basename(String(d.file)));
    if (idx !== undefined && idx < out.length) out[idx] = verdictOf(d);
  }
  return out;
}

// ============================================================================
// Report
// ============================================================================

interface Row {
  readonly tool: string;
  readonly mode: string;
  readonly docs: number;
  readonly m?: Measured & { readonly runs?: number };
  /** Seconds the documents took when that differs from m.wall (in-process). */
  readonly seconds?: number;
  readonly invalid?: number;
  readonly note?: string;
}

const fmt = (n: number | undefined, digits = 2): string => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

function table(rows: readonly Row[]): string {
  const lines = [
    '| tool | mode | docs | wall s | CPU s | peak RSS MiB | docs/s | invalid | exit | runs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    if (!r.m) {
      lines.push(`| ${r.tool} | ${r.mode} | ${r.docs} | — | — | — | — | — | — | ${r.note ?? ''} |`);
      continue;
    }
    const secs = r.seconds ?? r.m.wall;
    lines.push(
      `| ${r.tool} | ${r.mode} | ${thousands(r.docs)} | ${fmt(secs)} | ${fmt(r.m.cpu)} | ${fmt(r.m.maxRssMiB, 0)} | ${thousands(r.docs / secs)} | ${r.invalid === undefined ? '—' : thousands(r.invalid)} | ${r.m.code ?? '—'} | ${r.m.runs ?? 1} |`,
    );
  }
  return lines.join('\n');
}

const short = (s: string | undefined, n = 160): string => {
  const one = (s ?? '').replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function goVersion(): string {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'no go';
}

// ============================================================================
// Main
// ============================================================================

interface Options {
  count: number;
  seed: number;
  runs: number;
  layout: Layout;
  kv: boolean;
  ours: boolean;
  keep: boolean;
  json?: string;
}

const USAGE = `usage: npx tsx bench/validate.bench.ts [--count N] [--seed S|random] [--runs R]
       [--layout multi|files|both] [--skip-kubectl-validate] [--skip-ours] [--keep] [--json FILE]

  --count N      documents in the corpus (default ${DEFAULT_COUNT})
  --seed S       PRNG seed, an integer or "random" (default ${DEFAULT_SEED})
  --runs R       timed runs of each end-to-end measurement; the median is kept
                 (default 1; in-process runs are max(3, R))
  --layout L     multi: one multi-document file; files: one file per
                 document; both (default)
  --keep         keep the temporary directory (corpus, outputs)
  --json FILE    also write the raw results as JSON

       npx tsx bench/validate.bench.ts --decode-scaling [RUNS]

  decode time of one document of 1 KB to 4 MB, block and flow style (only)`;

function parseArgs(argv: string[]): Options {
  const o: Options = { count: DEFAULT_COUNT, seed: DEFAULT_SEED, runs: 1, layout: 'both', kv: true, ours: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    const positive = (flag: string, v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a positive integer, got "${v}"`);
      return n;
    };
    switch (argv[i]) {
      case '--count': o.count = positive('--count', value()); break;
      case '--seed': o.seed = parseSeed(value()); break;
      case '--runs': o.runs = positive('--runs', value()); break;
      case '--layout': {
        const v = value();
        if (v !== 'multi' && v !== 'files' && v !== 'both') throw new Error(`--layout wants multi, files or both, got "${v}"`);
        o.layout = v;
        break;
      }
      case '--skip-kubectl-validate': o.kv = false; break;
      case '--skip-ours': o.ours = false; break;
      case '--keep': o.keep = true; break;
      case '--json': o.json = resolve(value()); break;
      case '-h':
      case '--help':
        console.log(USAGE);
        return process.exit(0);
      default: throw new Error(`unknown argument "${argv[i]}"\n${USAGE}`);
    }
  }
  return o;
}

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);

async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  if (!existsSync(CRDS)) throw new Error(`${CRDS} is missing: run \`npm run synth\` first`);

  console.log(`seed: ${opts.seed}`);
  const docs = generateCorpus({ count: opts.count, seed: opts.seed });
  const work = mkdtempSync(join(tmpdir(), 'virtrigaud-bench-'));
  const written = writeCorpus(join(work, 'corpus'), docs, opts.layout);
  const crdDir = join(work, 'crds');
  mkdirSync(crdDir);
  cpSync(CRDS, join(crdDir, 'crds.yaml'));
  const stats = corpusStats(docs);
  log(`corpus in ${work}: ${docs.length} documents (${stats.expectInvalid} meant invalid), ${(written.bytes / 1048576).toFixed(1)} MiB, lines/doc median ${stats.lines.median} (${stats.lines.min}-${stats.lines.max})`);

  const layouts: ('multi' | 'files')[] = opts.layout === 'both' ? ['multi', 'files'] : [opts.layout];
  const target = (l: 'multi' | 'files'): string => (l === 'multi' ? written.multiFile! : written.filesDir!);
  const firstFile = join(work, 'one.yaml');
  writeFileSync(firstFile, docs[0]?.yaml ?? '');
  const rows: Row[] = [];
  const verdicts: Record<string, (Verdict | undefined)[]> = {};
  const notes: string[] = [];
  const raw: Record<string, unknown> = {};

  // ---- kubectl-validate
  const kvVersion = kubectlValidateVersion();
  if (opts.kv) {
    const kv = provideKubectlValidate();
    if (typeof kv !== 'string') {
      rows.push({ tool: 'kubectl-validate', mode: 'end to end', docs: docs.length, note: `not available: ${kv.unavailable}` });
      notes.push(`kubectl-validate: not available (${kv.unavailable})`);
    } else {
      // An empty kubeconfig: never ask a cluster for schemas. --version: built-in native schemas, never GitHub.
      const kubeconfig = join(work, 'empty-kubeconfig');
      writeFileSync(kubeconfig, '');
      const env = { ...process.env, KUBECONFIG: kubeconfig };
      const kvArgs = ['--local-crds', crdDir, '--version', KUBE_VERSION, '--output', 'json'];
      const startup = measure(kv, [...kvArgs, firstFile], { stdout: join(work, 'kv-one.json'), stderr: join(work, 'kv-one.err'), env });
      rows.push({ tool: 'kubectl-validate', mode: 'startup (1 doc)', docs: 1, m: startup });
      for (const l of layouts) {
        log(`kubectl-validate, ${l === 'multi' ? 'one multi-document file' : 'one file per document'} (${opts.runs} run(s)); about 100 docs/s, so this takes a while`);
        const stdout = join(work, `kv-${l}.json`);
        const m = medianRun(opts.runs, () => measure(kv, [...kvArgs, target(l)], { stdout, stderr: join(work, `kv-${l}.err`), env }));
        let v: (Verdict | undefined)[] | undefined;
        try {
          v = kvVerdicts(readFileSync(stdout, 'utf8'), docs, l);
        } catch (e) {
          notes.push(`kubectl-validate ${l}: output not parsed (${(e as Error).message}); see ${join(work, `kv-${l}.err`)}`);
        }
        if (v) verdicts[`kubectl-validate/${l}`] = v;
        rows.push({ tool: 'kubectl-validate', mode: `end to end, ${l === 'multi' ? '1 multi-doc file' : `${thousands(docs.length)} files`}`, docs: docs.length, m, invalid: v?.filter((x) => x && !x.valid).length });
        const sp = spread(`kubectl-validate, ${l}`, m);
        if (sp) notes.push(sp);
        raw[`kubectl-validate/${l}`] = m;
      }
    }
  }

  // ---- ours: library, in a child process
  let oursApi: string | undefined;
  if (opts.ours) {
    const multi = written.multiFile ?? join(work, 'corpus-for-library.yaml');
    if (!written.multiFile) writeFileSync(multi, docs.map((d) => d.yaml).join('---\n'));
    const report = join(work, 'ours-library.json');
    const libRuns = Math.max(3, opts.runs);
    log(`ours, library in process (1 untimed + ${libRuns} timed runs)`);
    const m = measure(process.execPath, ['--import', 'tsx', __filename, '--worker', multi, String(libRuns), report], {
      stdout: join(work, 'ours-library.out'), stderr: join(work, 'ours-library.err'), cwd: REPO,
    });
    const w: WorkerReport = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as WorkerReport) : { error: readFileSync(join(work, 'ours-library.err'), 'utf8') };
    if (w.unavailable) {
      rows.push({ tool: 'ours', mode: 'library, in process', docs: docs.length, note: 'not available yet' });
      notes.push(`ours: not available yet (${w.unavailable})`);
    } else if (w.error || !w.seconds || !w.verdicts) {
      rows.push({ tool: 'ours', mode: 'library, in process', docs: docs.length, note: 'failed' });
      notes.push(`ours (library) failed: ${short(w.error ?? `exit ${m.code}`, 600)}`);
    } else {
      oursApi = w.api;
      if (w.verdicts.length !== docs.length) notes.push(`ours (library) returned ${w.verdicts.length} results for ${docs.length} documents; verdicts are matched by position`);
      verdicts['ours/library'] = w.verdicts;
      const secs = median(w.seconds);
      // CPU and RSS of the whole child (tsx start-up, corpus, all runs); wall is per run.
      rows.push({
        tool: 'ours', mode: 'library, in process', docs: docs.length, seconds: secs,
        m: { wall: secs, cpu: w.cpuSeconds !== undefined ? w.cpuSeconds / w.seconds.length : undefined, maxRssMiB: m.maxRssMiB, code: null, runs: w.seconds.length },
        invalid: w.verdicts.filter((x) => !x.valid).length,
      });
      notes.push(`ours (library): ${w.api}; first (cold) run ${fmt(w.firstRunSeconds)} s, then ${w.seconds.map((s) => fmt(s)).join(' / ')} s; CPU s is per timed run; peak RSS is the whole child process`);
      raw['ours/library'] = { ...w, verdicts: undefined };
    }

    // ---- ours: CLI end to end
    if (!existsSync(OURS_CLI)) {
      rows.push({ tool: 'ours', mode: 'CLI end to end', docs: docs.length, note: 'not available yet' });
      notes.push('ours CLI: not available yet (bin/virtrigaud.js is missing)');
    } else {
      const cliArgs = [OURS_CLI, 'validate', '--strict', '--output', 'json'];
      const startup = measure(process.execPath, [...cliArgs, firstFile], { stdout: join(work, 'ours-one.json'), stderr: join(work, 'ours-one.err'), cwd: REPO });
      rows.push({ tool: 'ours', mode: 'CLI startup (1 doc)', docs: 1, m: startup });
      if (startup.code !== 0 && startup.code !== 1) {
        notes.push(`ours CLI: exit ${startup.code} on one document: ${short(readFileSync(join(work, 'ours-one.err'), 'utf8'), 600)}`);
      } else {
        for (const l of layouts) {
          log(`ours, CLI end to end, ${l} (${opts.runs} run(s))`);
          const stdout = join(work, `ours-cli-${l}.json`);
          const m = medianRun(opts.runs, () => measure(process.execPath, [...cliArgs, target(l)], { stdout, stderr: join(work, `ours-cli-${l}.err`), cwd: REPO }));
          let v: (Verdict | undefined)[] | undefined;
          try {
            v = cliVerdicts(readFileSync(stdout, 'utf8'), docs, l);
            verdicts[`ours-cli/${l}`] = v;
          } catch (e) {
            notes.push(`ours CLI ${l}: JSON output not parsed (${(e as Error).message}); exit ${m.code}`);
          }
          rows.push({ tool: 'ours', mode: `CLI end to end, ${l === 'multi' ? '1 multi-doc file' : `${thousands(docs.length)} files`}`, docs: docs.length, m, invalid: v?.filter((x) => x && !x.valid).length });
          const sp = spread(`ours CLI, ${l}`, m);
          if (sp) notes.push(sp);
          raw[`ours-cli/${l}`] = m;
        }
      }
    }
  }

  // ---- report
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log('');
  console.log(`## Validation benchmark: kubectl-validate vs ours`);
  console.log('');
  console.log(`- corpus: ${thousands(docs.length)} VirtualMachine documents, seed ${opts.seed}, ${stats.expectInvalid} meant invalid (${((stats.expectInvalid / Math.max(1, docs.length)) * 100).toFixed(1)}%), ${(written.bytes / 1048576).toFixed(1)} MiB, ${stats.lines.median} lines/doc median`);
  console.log(opts.kv ? `- kubectl-validate ${kvVersion} (sigs.k8s.io/kubectl-validate, built with ${goVersion()}), \`--local-crds\` + \`--version ${KUBE_VERSION}\`, empty KUBECONFIG` : '- kubectl-validate: skipped');
  console.log(`- ours: ${oursApi ? `${oursApi}, strict` : opts.ours ? 'not available' : 'skipped'}; node ${process.version}; commit ${git(['rev-parse', '--short', 'HEAD'])}`);
  console.log(`- machine: ${cpus().length} × ${cpu}`);
  console.log('');
  console.log(table(rows));
  console.log('');
  console.log('docs/s = docs ÷ wall s. End-to-end rows include process start-up and loading the CRDs; CPU s is user + system.');

  // ---- verdicts
  const kvKey = verdicts['kubectl-validate/multi'] ? 'kubectl-validate/multi' : verdicts['kubectl-validate/files'] ? 'kubectl-validate/files' : undefined;
  const oursKey = verdicts['ours/library'] ? 'ours/library' : verdicts['ours-cli/multi'] ? 'ours-cli/multi' : verdicts['ours-cli/files'] ? 'ours-cli/files' : undefined;
  const judged = Object.entries(verdicts);
  if (judged.length > 0) {
    console.log('');
    console.log('### Verdicts');
    console.log('');
    console.log('| judge | invalid | valid | no verdict | agrees with the generator |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(`| generator intent (strict) | ${stats.expectInvalid} | ${docs.length - stats.expectInvalid} | 0 | — |`);
    for (const [key, v] of judged) {
      const invalid = v.filter((x) => x && !x.valid).length;
      const valid = v.filter((x) => x?.valid).length;
      const agree = docs.filter((d) => v[d.index] && v[d.index]!.valid === d.expectValid).length;
      console.log(`| ${key} | ${invalid} | ${valid} | ${docs.length - invalid - valid} | ${agree} |`);
    }
    for (const l of layouts) {
      const a = verdicts[`kubectl-validate/${l}`];
      const b = verdicts[`ours-cli/${l}`];
      const lib = verdicts['ours/library'];
      if (a && verdicts[`kubectl-validate/${layouts[0]}`] && l !== layouts[0]) {
        const base = verdicts[`kubectl-validate/${layouts[0]}`]!;
        const diff = docs.filter((d) => a[d.index]?.valid !== base[d.index]?.valid).length;
        if (diff) notes.push(`kubectl-validate gives ${diff} different verdict(s) for the ${l} layout than for ${layouts[0]}`);
      }
      if (b && lib) {
        const diff = docs.filter((d) => b[d.index]?.valid !== lib[d.index]?.valid).length;
        if (diff) notes.push(`our CLI (${l}) and our library disagree on ${diff} document(s)`);
      }
    }

    // Per category: how each judge treats each kind of breakage.
    const cats = [...new Set(docs.map((d) => d.category ?? (d.label ? 'valid (boundary)' : 'valid')))];
    const judges = [kvKey, oursKey].filter((k): k is string => k !== undefined);
    console.log('');
    console.log(`| category | docs | ${judges.map((j) => `${j} invalid`).join(' | ')} |`);
    console.log(`| --- | ---: |${judges.map(() => ' ---: |').join('')}`);
    for (const c of cats) {
      const inCat = docs.filter((d) => (d.category ?? (d.label ? 'valid (boundary)' : 'valid')) === c);
      console.log(`| ${c} | ${inCat.length} | ${judges.map((j) => inCat.filter((d) => verdicts[j][d.index] && !verdicts[j][d.index]!.valid).length).join(' | ')} |`);
    }

    const listDiffs = (title: string, rowsOf: CorpusDoc[], describe: (d: CorpusDoc) => string): void => {
      console.log('');
      console.log(`${title}: ${rowsOf.length}${rowsOf.length > 20 ? ' (first 20)' : ''}`);
      for (const d of rowsOf.slice(0, 20)) console.log(`- #${d.index} ${d.name} [${d.label ?? 'valid'}] ${describe(d)}`);
    };
    const say = (v: Verdict | undefined): string => (v === undefined ? 'no verdict' : v.valid ? 'valid' : `invalid: ${short(v.message)}`);
    if (kvKey && oursKey) {
      const a = verdicts[kvKey];
      const b = verdicts[oursKey];
      listDiffs(`Disagreements, ${kvKey} vs ${oursKey}`, docs.filter((d) => a[d.index]?.valid !== b[d.index]?.valid), (d) => `\n    kubectl-validate: ${say(a[d.index])}\n    ours: ${say(b[d.index])}`);
    }
    for (const key of [kvKey, oursKey]) {
      if (!key) continue;
      const v = verdicts[key];
      const off = docs.filter((d) => v[d.index]?.valid !== d.expectValid);
      if (off.length) listDiffs(`${key} vs the generator's intent`, off, (d) => `expected ${d.expectValid ? 'valid' : 'invalid'}, got ${say(v[d.index])}`);
    }
  }

  if (notes.length) {
    console.log('');
    console.log('Notes:');
    for (const n of notes) console.log(`- ${n}`);
  }
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ seed: opts.seed, count: docs.length, kubectlValidate: kvVersion, rows, notes, raw }, null, 2));
    log(`raw results in ${opts.json}`);
  }
  if (opts.keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

// ============================================================================
// Decode time against input size (issue 19): one document of 1 KB to 4 MB,
// block and flow style; linear growth means the time per MB stays flat.
// ============================================================================

const DECODE_HEAD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n';
const DECODE_SHAPES: Record<string, (bytes: number) => string> = {
  'block list': (n) => `${DECODE_HEAD}list:\n${'  - item-value-0123\n'.repeat(Math.ceil(n / 20))}`,
  'block list of mappings': (n) => `${DECODE_HEAD}list:\n${'- a: 1\n  b: x\n'.repeat(Math.ceil(n / 14))}`,
  'flow list': (n) => `${DECODE_HEAD}list: [${'item-value-0123, '.repeat(Math.ceil(n / 17))}end]\n`,
  'flow list of mappings': (n) => `${DECODE_HEAD}list: [${'{a: 1, b: x}, '.repeat(Math.ceil(n / 14))}{}]\n`,
};
const DECODE_SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20];

async function decodeScaling(runs: number): Promise<void> {
  const { decodeStream } = (await import(join(OURS_MODULE, 'yaml'))) as typeof import('../src/validate/yaml');
  const lim = { maxDocumentBytes: 64 << 20 };
  console.log(`Decode time against document size (best of ${runs}; node ${process.version}, ${cpus().length} cores)`);
  console.log('');
  console.log(`| shape | ${DECODE_SIZES.map((b) => (b < 1 << 20 ? `${b >> 10} KB` : `${b >> 20} MB`)).join(' | ')} | ms/MB at 1 MB | ms/MB at 4 MB |`);
  console.log(`| --- |${DECODE_SIZES.map(() => ' ---: |').join('')} ---: | ---: |`);
  for (const [name, make] of Object.entries(DECODE_SHAPES)) {
    const ms: number[] = [];
    for (const size of DECODE_SIZES) {
      const text = make(size);
      let min = Infinity;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const docs = decodeStream(text, lim);
        min = Math.min(min, performance.now() - t0);
        if (docs.length !== 1 || docs[0]!.error) throw new Error(`${name} at ${size} bytes: ${JSON.stringify(docs[0]?.error)}`);
      }
      ms.push(min);
    }
    const perMB = (i: number): string => fmt(ms[i]! / (DECODE_SIZES[i]! / (1 << 20)), 0);
    console.log(`| ${name} | ${ms.map((m) => `${fmt(m, m < 10 ? 1 : 0)} ms`).join(' | ')} | ${perMB(3)} | ${perMB(5)} |`);
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const run = argv[0] === '--worker'
    ? worker(argv[1], Number(argv[2]), argv[3])
    : argv[0] === '--decode-scaling'
      ? decodeScaling(Number(argv[1] ?? 3) || 3)
      : main(argv);
  run.catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(2);
  });
}
