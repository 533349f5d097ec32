/**
 * Hostile input through the whole pipeline: each bad document gets a clear
 * error of its own, in bounded time and memory, and the good documents around
 * it are still validated.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateText, type DocumentResult } from '../../src/validate';

const root = path.resolve(__dirname, '..', '..');
const vm = fs.readFileSync(path.join(root, 'examples/manifests/vsphere-web-server.yaml'), 'utf8').split('---\n').pop()!;
const good = (name: string) => vm.replace('name: web-server', `name: ${name}`);

/** Runs `fn`, failing the test when it takes longer than `ms`. */
function timed<T>(t: Test, ms: number, what: string, fn: () => T): T {
  const start = performance.now();
  const out = fn();
  const took = performance.now() - start;
  t.ok(took < ms, `${what} took ${took.toFixed(0)} ms (limit ${ms})`);
  return out;
}

function sandwich(bad: string): string {
  return `${good('before')}---\n${bad}\n---\n${good('after')}`;
}

function check(t: Test, results: DocumentResult[], rule: RegExp, message: RegExp): void {
  t.equal(results.length, 3, 'three documents');
  t.ok(results[0].valid && results[0].name === 'before', 'the document before is validated');
  t.ok(results[2].valid && results[2].name === 'after', 'the document after is validated');
  t.notOk(results[1].valid, 'the hostile document is invalid');
  t.match(results[1].errors[0].rule ?? '', rule);
  t.match(results[1].errors[0].message, message);
}

t.test('malformed YAML', async (t) => {
  check(t, validateText(sandwich('kind: [unclosed\nspec: {')), /yaml-syntax/, /line \d+/);
});

t.test('an alias bomb stops at the expansion limit', async (t) => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 12; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  const results = timed(t, 3000, 'alias bomb', () => validateText(sandwich(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  ${levels.join('\n  ')}`)));
  check(t, results, /alias-limit/, /alias/);
});

t.test('a 20 MB document is refused by size, fast', async (t) => {
  const big = `apiVersion: infra.virtrigaud.io/v1beta1\nkind: VirtualMachine\nmetadata: {name: big}\nspec:\n  tags:\n${'    - xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(500_000)}`;
  t.ok(big.length > 20_000_000, `${(big.length / 1e6).toFixed(1)} MB`);
  const rss = process.memoryUsage().rss;
  const results = timed(t, 5000, '20 MB document', () => validateText(sandwich(big)));
  check(t, results, /size-limit/, /MiB|bytes/);
  t.ok(process.memoryUsage().rss - rss < 600 * 1024 * 1024, 'memory stays bounded');
});

// Block style needs an indent per level, so 10,000 levels would be a 50 MB document (refused by size):
// 2,000 levels stay under the size limit and exercise the depth limit (1,000).
t.test('deep nesting: 10,000 levels in flow style, 2,000 in block style', async (t) => {
  const flow = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: ${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  check(t, timed(t, 3000, 'flow nesting', () => validateText(sandwich(flow))), /depth-limit/, /deep|depth|nest/);
  let block = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n';
  for (let i = 0; i < 2_000; i++) block += `${' '.repeat(i + 1)}k:\n`;
  block += `${' '.repeat(2_001)}v\n`;
  check(t, timed(t, 5000, 'block nesting', () => validateText(sandwich(block))), /depth-limit/, /deep|depth|nest/);
});

t.test('__proto__ and constructor keys pollute nothing and are reported as unknown fields', async (t) => {
  const doc = good('proto').replace('spec:\n', 'spec:\n  __proto__: {polluted: true}\n  constructor: {prototype: {polluted: true}}\n');
  const [r] = validateText(doc, { strict: true });
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  t.notOk(r.valid);
  t.same(r.errors.map((e) => e.field).sort(), ['spec.__proto__', 'spec.constructor']);
});

t.test('invalid UTF-8 and binary input', async (t) => {
  const bytes = Buffer.concat([Buffer.from(good('utf8')), Buffer.from('---\nkind: '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
  const results = validateText(bytes);
  // as kubectl: the bad bytes become U+FFFD and every document is validated
  t.equal(results.length, 2, 'both documents');
  t.ok(results[0].valid && results[0].name === 'utf8', 'the good document is validated');
  t.notOk(results[1].valid, 'the second document is judged on its own');
  t.match(results[1].errors[0]?.message ?? '', /\ufffd\(|apiVersion|kind/, 'and judged on what kubectl would send');
  const binary = validateText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00]));
  t.equal(binary.length, 1);
  t.match(binary[0].errors[0].rule ?? '', /binary/);
});

t.test('JSON documents, duplicate keys and large integers', async (t) => {
  const json = JSON.stringify({ apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'j' }, spec: { cpu: 2, memory: '4Gi' } });
  t.ok(validateText(json)[0].valid, 'a JSON document');
  const dup = validateText('apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n');
  t.match(dup[0].errors[0].rule ?? '', /duplicate-key/);
  const [big] = validateText('apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClass\nmetadata: {name: c}\nspec:\n  cpu: 9007199254740993\n  memory: 4Gi\n');
  t.match(big.errors.find((e) => e.field === 'spec.cpu')?.message ?? '', /9007199254740993/, 'no precision lost above 2^53');
});
