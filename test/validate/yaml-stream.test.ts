/**
 * Stream-level behaviour: framing on `---` lines as kubectl does, indices and
 * lines, skipped documents, error isolation, JSON streams, duplicate keys,
 * non-object documents, the contract's field shapes, and the scalar rules
 * that matter most for manifests.
 */
import t from 'tap';
import { decodeStream } from '../../src/validate/yaml';
import { formatFloat32g, plainKey, plainValue } from '../../src/validate/yaml/scalars';
import { DecodeFailure } from '../../src/validate/yaml/types';
import { fixture } from './fixtures/yaml/helpers';

const kinds = (src: string | Uint8Array): unknown[] =>
  decodeStream(src).map((d) => (d.error ? `!${d.error.rule}` : (d.value as { kind?: unknown }).kind));

t.test('the seed manifest', async (t) => {
  const src = fixture('seed.yaml');
  const docs = decodeStream(src);
  t.same(docs.map((d) => [d.index, d.line]), [[0, 3], [1, 20], [2, 33], [3, 45], [4, 56]], 'indices and first content lines');
  const vm = docs[4]!.value as { spec: { powerState: unknown; disks: { sizeGiB: unknown }[] } };
  t.equal(vm.spec.powerState, 'On', 'quoted "On" stays a string');
  t.equal(vm.spec.disks[0]!.sizeGiB, 100);
  t.same(decodeStream(new TextEncoder().encode(src)), docs, 'bytes and string give the same result');
});

t.test('framing and skipped documents', async (t) => {
  t.same(kinds(fixture('multidoc.yaml')), ['First', 'Second', 'Third', '!not-an-object', '!not-an-object', '!not-an-object', 'Last']);
  t.same(decodeStream(''), []);
  t.same(decodeStream('# just a comment\n---\n---\n~\n...\n'), [], 'empty, comment-only and null documents take no index');
  t.same(kinds('---\nkind: A\n---\nkind: B'), ['A', 'B'], 'leading separator, no final newline');
  t.same(kinds('kind: A\n--- # c\nkind: B\n'), ['A', 'B']);
  const bad = decodeStream('kind: A\n--- x\nkind: B\n---\nkind: C\n');
  t.same(bad.map((d) => d.error?.rule ?? (d.value as { kind: string }).kind), ['A', 'yaml-syntax', 'C'], 'kubectl refuses `--- x`');
  t.match(bad[1]!.error, { line: 2, column: 1, message: /invalid YAML document separator: x/ });
  t.same(kinds('kind: A\n----\nkind: B\n'), ['A', '!yaml-syntax'], '---- is a bad separator too');
  t.same(kinds('kind: A\n---|\nx\n'), ['A', '!yaml-syntax']);
  t.same(kinds('kind: A\n...\nkind: Ignored\n'), ['A'], 'after `...` the rest of the piece is ignored (go-yaml Unmarshal)');
  t.same(kinds('kind: A\r\n---\r\nkind: B\r\n'), ['A', 'B'], 'CRLF');
  t.same(kinds('\ufeffkind: A\n'), ['A'], 'BOM');
  t.same(kinds('data: |\n  ---\n  x\nkind: A\n'), ['A'], 'an indented --- inside a block scalar is content');
});

t.test('errors stay in their document', async (t) => {
  const docs = decodeStream(fixture('errors.yaml'));
  t.equal(docs.length, 9);
  t.same(docs[0]!.value, { kind: 'Good1' });
  t.same(docs[8]!.value, { kind: 'Good2' });
  for (const d of docs.slice(1, 8)) {
    if (d.error) {
      t.equal(d.error.rule, 'yaml-syntax');
      t.ok(d.error.line! >= d.line, `error line ${d.error.line} within document at ${d.line}`);
      t.notMatch(d.error.message, /\n/, 'one-line message');
    }
  }
  const e = decodeStream('kind: A\nspec:\n  a: [1, 2\n')[0]!.error!;
  t.equal(e.rule, 'yaml-syntax');
  t.ok(e.line! >= 3 && e.column! >= 1, `positioned (${e.line}:${e.column})`);
});

t.test('duplicate keys', async (t) => {
  const d = decodeStream('kind: A\nmetadata:\n  name: a\nspec:\n  x: 1\nspec:\n  y: 2\n')[0]!;
  t.same(d.error, { rule: 'duplicate-key', message: 'mapping key "spec" already defined at line 4', line: 6, column: 1 });
  t.equal(decodeStream('kind: A\nm:\n  a: 1\n  b: 2\n  a: 3\n')[0]!.error?.line, 5, 'nested');
  t.equal(decodeStream('kind: A\nm: {a: 1, a: 2}\n')[0]!.error?.rule, 'duplicate-key', 'flow');
  t.equal(decodeStream('kind: A\nyes: 1\ntrue: 2\n')[0]!.error?.rule, 'duplicate-key', 'yes and true are the same key');
  t.equal(decodeStream('kind: A\n1: a\n"1": b\n')[0]!.error?.rule, 'duplicate-key', '1 and "1" collide in JSON');
  t.equal(decodeStream('{"kind": "A", "a": 1, "a": 2}')[0]!.error?.rule, 'duplicate-key', 'JSON');
  t.same(decodeStream('kind: A\nb: &b {a: 1}\nm:\n  <<: *b\n  a: 2\n')[0]!.value, { kind: 'A', b: { a: 1 }, m: { a: 2 } }, 'merge overrides are not duplicates');
  t.equal(decodeStream('kind: A\n__proto__: 1\n__proto__: 2\n')[0]!.error?.rule, 'duplicate-key', '__proto__ twice');
  t.equal(decodeStream('kind: A\ntoString: 1\n')[0]!.error, undefined, 'inherited names are not duplicates');
});

t.test('documents that are not mappings', async (t) => {
  for (const src of ['- a\n- b\n', 'hello\n', '42\n', '"str"\n', 'true\n', '[1, 2]\n', '9223372036854775807\n']) {
    const d = decodeStream(src)[0]!;
    t.equal(d.error?.rule, 'not-an-object', JSON.stringify(src));
    t.equal(d.value, undefined);
  }
});

t.test('JSON streams', async (t) => {
  const docs = decodeStream(fixture('stream.json'));
  t.same(docs.map((d) => d.error?.rule ?? (d.value as { kind: string }).kind), ['VMClass', 'Second', 'not-an-object', 'Last']);
  const spec = (docs[0]!.value as { spec: Record<string, unknown> }).spec;
  t.equal(spec.big, 9007199254740993n, 'exact int64 as bigint');
  t.equal(spec.huge, 18446744073709551615, 'beyond int64: float64');
  t.equal(spec.ratio, 1, '1.0 is 1');
  t.equal(Object.is(spec.neg, 0), true, '-0 is 0');
  t.equal((docs[3]!.value as { on: unknown }).on, 'On', 'JSON strings are never YAML-resolved');
  t.same(docs.map((d) => d.line), [1, 4, 5, 7]);
  t.same(kinds('{"kind": "A"}\n---\nkind: B\n'), ['A', 'B'], 'one JSON object then YAML (kubectl switches)');
  t.same(kinds('{"kind": "A"}{"kind": "B"}\n{"kind": "C"} '), ['A', 'B', 'C'], 'concatenated values');
  t.same(kinds('{"kind": "A"}\n{"kind": "B"}\n---\nkind: C\n'), ['A', 'B', '!json-syntax'], 'after two JSON values a syntax error ends the stream');
  t.same(kinds('{kind: A}\n---\nkind: B\n'), ['A', 'B'], 'not JSON at all: YAML from the start');
  t.same(kinds('  \n\t{"kind": "A"}'), ['A'], 'leading whitespace');
  t.same(kinds('{"kind": "A", "n": 1e400}\n{"kind": "B"}\n'), ['!json-syntax', 'B'], 'out-of-range number fails its document only');
  t.same(kinds('[{"kind": "A"}]'), ['!not-an-object'], 'a top-level array is YAML (kubectl sniffs `{` only)');
});

t.test('options', async (t) => {
  t.equal(decodeStream('kind: A\nx: 1\n', { maxDocumentBytes: 5 })[0]!.error?.rule, 'size-limit');
  t.equal(decodeStream('kind: A\nx: {a: {b: 1}}\n', { maxDepth: 2 })[0]!.error?.rule, 'depth-limit');
  t.notOk(decodeStream('kind: A\nx: {a: 1}\n', { maxDepth: 2 })[0]!.error);
});

t.test('scalar rules (go-yaml v2 + JSON round trip)', async (t) => {
  const cases: [string, unknown][] = [
    ['y', true], ['Y', true], ['yes', true], ['Yes', true], ['YES', true], ['on', true], ['On', true], ['ON', true],
    ['true', true], ['True', true], ['TRUE', true], ['n', false], ['N', false], ['no', false], ['No', false], ['NO', false],
    ['off', false], ['Off', false], ['OFF', false], ['false', false], ['False', false], ['FALSE', false],
    ['yEs', 'yEs'], ['oN', 'oN'], ['tRUE', 'tRUE'],
    ['', null], ['~', null], ['null', null], ['Null', null], ['NULL', null], ['nULL', 'nULL'],
    ['0777', 511], ['0o17', 15], ['0x1F', 31], ['0b101', 5], ['-0b101', -5], ['08', 8], ['1_000', 1000], ['+12', 12],
    ['-0', 0], ['1.0', 1], ['1.', 1], ['.5', 0.5], ['1e3', 1000], ['1e18', 1000000000000000000n], ['1e20', 1e20],
    ['9007199254740991', 9007199254740991], ['9007199254740993', 9007199254740993n],
    ['9223372036854775807', 9223372036854775807n], ['-9223372036854775808', -9223372036854775808n],
    ['9223372036854775808', 9223372036854775808], ['-9223372036854775809', -9223372036854775808],
    ['18446744073709551615', 18446744073709551615], ['99999999999999999999', 1e20],
    ['1e400', '1e400'], ['1e-400', 0], ['0x10000000000000000', '0x10000000000000000'],
    ['1:30', '1:30'], ['2001-12-14', '2001-12-14'], ['0x1p3', '0x1p3'], ['.e5', '.e5'], ['_1', '_1'], ['0b-1', -1],
    ['10Gi', '10Gi'], ['100m', '100m'], ['1.2.3', '1.2.3'], ['<<', '<<'],
  ];
  for (const [src, want] of cases) t.equal(plainValue(src), want, `${JSON.stringify(src)} -> ${String(want)}`);
  t.throws(() => plainValue('.inf'), new DecodeFailure('yaml-syntax', 'json: unsupported value: +Inf (.inf has no JSON form)'), '.inf has no JSON form');
  t.throws(() => plainValue('.nan'));
  const keys: [string, string][] = [
    ['1', '1'], ['0x10', '16'], ['yes', 'true'], ['off', 'false'], ['1.5', '1.5'], ['2e9', '2e+09'], ['1e-7', '1e-07'],
    ['3.14159265358979', '3.1415927'], ['.inf', '.inf'], ['-.inf', '-.inf'], ['.nan', '.nan'], ['1e300', '.inf'],
    ['123456.7', '123456.7'], ['1234567.0', '1.234567e+06'], ['0.0001', '0.0001'], ['0.00001', '1e-05'], ['-0.0', '-0'],
    ['9223372036854775807', '9223372036854775807'], ['name', 'name'],
  ];
  for (const [src, want] of keys) t.equal(plainKey(src), want, `key ${src} -> ${want}`);
  t.throws(() => plainKey('~'), 'null key');
  t.throws(() => plainKey('9223372036854775808'), 'uint64 key');
  t.equal(formatFloat32g(0.1), '0.1');
  t.equal(formatFloat32g(1e21), '1e+21');
});
