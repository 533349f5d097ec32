/**
 * Micro-benchmark of the manifest decoder (not a test):
 *   npx tsx bench/yaml-decode.ts [copies=10000] [rounds=5]
 * Decodes the seed VirtualMachine document (5th document of
 * examples/manifests/vsphere-web-server.yaml) repeated `copies` times as one
 * stream, with src/validate/yaml, the `yaml` package and js-yaml (if present
 * in node_modules), and prints the median and best documents/s of `rounds`
 * runs (best is the figure least disturbed by other load on the machine).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import * as YAML from 'yaml';
import { decodeStream } from '../src/validate/yaml';

const copies = Number(process.argv[2] ?? 10000);
const rounds = Number(process.argv[3] ?? 15);

const seedFile = join(__dirname, '..', 'examples', 'manifests', 'vsphere-web-server.yaml');
const seedDocs = readFileSync(seedFile, 'utf8').split(/^---[ \t]*$/m);
const vm = seedDocs[4]!.replace(/^\n/, '');
const stream = Array.from({ length: copies }, () => vm).join('---\n');
const bytes = new TextEncoder().encode(stream);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, run: () => number): void {
  const rates: number[] = [];
  for (let w = 0; w < 3; w++) run(); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    const n = run();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n !== copies) throw new Error(`${name}: decoded ${n} documents, expected ${copies}`);
    rates.push(n / secs);
  }
  const f = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`${name.padEnd(48)} median ${f(median(rates)).padStart(9)}  best ${f(Math.max(...rates)).padStart(9)} docs/s`);
}

console.log(
  `node ${process.version}; ${copies} x VirtualMachine document (${Buffer.byteLength(vm)} bytes, ${vm.split('\n').length - 1} lines); ` +
    `${rounds} rounds each; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`,
);

measure('src/validate/yaml decodeStream(string)', () => decodeStream(stream).length);
measure('src/validate/yaml decodeStream(Uint8Array)', () => decodeStream(bytes).length);
// a flow mapping in every document sends it to the full path
const fullOnly = Array.from({ length: copies }, () => vm.replace('name: data', '{name: data}'.slice(1, -1)).replace('classRef:\n    name: small', 'classRef: {name: small}')).join('---\n');
measure('src/validate/yaml, full path (flow map in each)', () => decodeStream(fullOnly).length);

measure('yaml 2.x parseAllDocuments().toJS() (1.1)', () =>
  YAML.parseAllDocuments(stream, { version: '1.1' }).map((d) => d.toJS()).length,
);

let jsyaml: { loadAll(s: string): unknown[] } | undefined;
try {
  // js-yaml is only a transitive dependency; use it when it is there
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  jsyaml = require('js-yaml') as { loadAll(s: string): unknown[] };
} catch {
  jsyaml = undefined;
}
if (jsyaml) {
  const j = jsyaml;
  measure('js-yaml loadAll (YAML 1.2, not kubectl-exact)', () => j.loadAll(stream).length);
} else console.log('js-yaml: not installed');

const objs = decodeStream(stream).map((d) => d.value);
const json = objs.map((o) => JSON.stringify(o));
measure('JSON.parse of the same objects (reference)', () => {
  let n = 0;
  for (const s of json) if (JSON.parse(s)) n++;
  return n;
});
