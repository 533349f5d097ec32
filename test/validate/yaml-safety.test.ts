/**
 * Hostile input: prototype keys, alias bombs, deep nesting, huge documents,
 * bad encodings, binary data, and random mutations. decodeStream must never
 * throw and must stay fast.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeStream } from '../../src/validate/yaml';
import { rng } from './fixtures/yaml/helpers';

const SEED = readFileSync(join(__dirname, '..', '..', 'examples', 'manifests', 'vsphere-web-server.yaml'), 'utf8');

function timed<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const v = f();
  return [v, Number(process.hrtime.bigint() - t0) / 1e6];
}

t.test('__proto__, constructor, prototype are plain own keys', async (t) => {
  const inputs: Record<string, string> = {
    block: 'kind: A\n__proto__:\n  polluted: yes\nconstructor:\n  prototype:\n    polluted: 1\nprototype: {polluted: 1}\n',
    flow: 'kind: A\nx: {__proto__: {polluted: 1}, constructor: {prototype: {polluted: 1}}}\n',
    quoted: 'kind: A\n"__proto__": {polluted: 1}\n',
    merge: 'kind: A\nbase: &b {__proto__: {polluted: 1}, toString: 1}\nm:\n  <<: *b\n',
    alias: 'kind: A\nbase: &b\n  __proto__:\n    polluted: 1\ncopy: *b\n',
    json: '{"kind": "A", "__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}',
  };
  for (const [name, src] of Object.entries(inputs)) {
    const [doc] = decodeStream(src);
    t.notOk(doc?.error, `${name}: decodes (${doc?.error?.message ?? ''})`);
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return;
      t.equal(Object.getPrototypeOf(v), Array.isArray(v) ? Array.prototype : Object.prototype, `${name}: prototype untouched`);
      for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
    };
    walk(doc?.value);
  }
  const block = decodeStream(inputs.block!)[0]!.value as Record<string, unknown>;
  t.ok(Object.prototype.hasOwnProperty.call(block, '__proto__'), '__proto__ is an own property');
  t.same(Object.getOwnPropertyDescriptor(block, '__proto__')?.value, { polluted: true });
  t.ok(Object.keys(block).includes('__proto__'), 'and enumerable');
  t.same((block.constructor as unknown as Record<string, unknown>).prototype, { polluted: 1 }, 'constructor is data');
  const merged = decodeStream(inputs.merge!)[0]!.value as { m: Record<string, unknown> };
  t.ok(Object.prototype.hasOwnProperty.call(merged.m, '__proto__'), 'merge copies __proto__ as an own key');
  t.equal(merged.m.toString, 1, 'toString is data');
  const json = decodeStream(inputs.json!)[0]!.value as Record<string, unknown>;
  t.ok(Object.prototype.hasOwnProperty.call(json, '__proto__'), 'JSON: own __proto__');
  t.equal(({} as Record<string, unknown>).polluted, undefined, '({}).polluted stays undefined');
  t.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
});

t.test('alias bombs stop at maxAliasExpansion', async (t) => {
  const lol = ['kind: Bomb', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= 9; i++) lol.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`);
  const bomb = lol.join('\n') + '\n';
  const before = process.memoryUsage().heapUsed;
  const [docs, ms] = timed(() => decodeStream(`kind: Before\n---\n${bomb}---\nkind: After\n`));
  t.equal(docs.length, 3);
  t.equal(docs[1]!.error?.rule, 'alias-limit', docs[1]!.error?.message ?? '');
  t.equal(docs[1]!.error?.line, 8, 'reported at the alias that went over (a4: 10^5 nodes)');
  t.same(docs[0]!.value, { kind: 'Before' });
  t.same(docs[2]!.value, { kind: 'After' });
  t.ok(ms < 2000, `bounded time (${ms.toFixed(0)} ms)`);
  t.ok(process.memoryUsage().heapUsed - before < 200 * 1024 * 1024, 'bounded memory');

  const mergeBomb = ['kind: MergeBomb', 'm0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}'];
  for (let i = 1; i <= 12; i++) mergeBomb.push(`m${i}: &m${i} {<<: *m${i - 1}, x${i}: [*m${i - 1}, *m${i - 1}, *m${i - 1}, *m${i - 1}]}`);
  const [mb, ms2] = timed(() => decodeStream(mergeBomb.join('\n')));
  t.equal(mb[0]!.error?.rule, 'alias-limit');
  t.ok(ms2 < 2000, `merge bomb bounded (${ms2.toFixed(0)} ms)`);

  const small = decodeStream('a: &a [1, 2, 3]\nb: *a\nc: *a\n', { maxAliasExpansion: 5 });
  t.equal(small[0]!.error?.rule, 'alias-limit', 'the option is honoured');
  const ok = decodeStream('a: &a [1, 2, 3]\nb: *a\nc: *a\n', { maxAliasExpansion: 8 });
  t.same(ok[0]!.value, { a: [1, 2, 3], b: [1, 2, 3], c: [1, 2, 3] });
  t.not((ok[0]!.value as { b: unknown }).b, (ok[0]!.value as { a: unknown }).a, 'aliases are copies, not shared');
});

t.test('10,000 nesting levels: depth-limit, quickly, no stack overflow', async (t) => {
  const n = 10_000;
  const cases: Record<string, string> = {
    'block sequences': 'kind: Deep\nv:\n' + '- '.repeat(n) + 'x\n',
    'block mappings': 'kind: Deep\n' + Array.from({ length: n }, (_, i) => ' '.repeat(i) + 'k:').join('\n') + '\n',
    'block with anchors (full path)': 'kind: Deep\n' + Array.from({ length: 2000 }, (_, i) => ' '.repeat(i) + `&a${i} k:`).join('\n') + '\n',
    'flow sequences': 'kind: Deep\nv: ' + '['.repeat(n) + ']'.repeat(n) + '\n',
    'flow mappings': 'kind: Deep\nv: ' + '{a: '.repeat(n) + '1' + '}'.repeat(n) + '\n',
    json: '{"kind": "Deep", "v": ' + '['.repeat(n) + ']'.repeat(n) + '}',
    'json objects': '{"kind": "Deep", "v": ' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}',
  };
  for (const [name, src] of Object.entries(cases)) {
    const [docs, ms] = timed(() => decodeStream(src, { maxDocumentBytes: 64 * 1024 * 1024 }));
    t.equal(docs.length, 1, name);
    t.equal(docs[0]!.error?.rule, 'depth-limit', `${name}: ${docs[0]!.error?.message}`);
    t.ok(ms < 3000, `${name}: ${ms.toFixed(0)} ms`);
  }
  // at the limit and just past it
  const nest = (d: number): string => 'v:\n' + Array.from({ length: d - 1 }, (_, i) => ' '.repeat(i + 1) + 'k:').join('\n') + '\n' + ' '.repeat(d) + 'k: 1\n';
  t.notOk(decodeStream(nest(9), { maxDepth: 10 })[0]!.error, '10 levels pass maxDepth 10');
  t.equal(decodeStream(nest(10), { maxDepth: 10 })[0]!.error?.rule, 'depth-limit', '11 levels do not');
  t.equal(decodeStream('v: [[[[[[[[[[1]]]]]]]]]]', { maxDepth: 10 })[0]!.error?.rule, 'depth-limit', 'flow too');
  t.notOk(decodeStream('v: [[[[[[[[1]]]]]]]]', { maxDepth: 10 })[0]!.error, 'flow within the limit');
});

t.test('huge documents: size-limit, fast', async (t) => {
  const big = 'kind: Big\ndata:\n' + '  k: "' + 'x'.repeat(20 * 1024 * 1024) + '"\n';
  for (const [name, input] of [
    ['string', big],
    ['bytes', new TextEncoder().encode(big)],
    ['json', '{"kind": "Big", "data": "' + 'x'.repeat(20 * 1024 * 1024) + '"}'],
  ] as const) {
    const [docs, ms] = timed(() => decodeStream(`kind: Small\n---\n${typeof input === 'string' ? '' : ''}` === '' ? input : input));
    t.equal(docs[docs.length - 1]!.error?.rule, 'size-limit', `${name}: ${docs[docs.length - 1]!.error?.message}`);
    t.ok(ms < 2000, `${name}: ${ms.toFixed(0)} ms`);
  }
  const stream = `kind: Small\n---\n${big}---\nkind: After\n`;
  const docs = decodeStream(stream);
  t.same(docs.map((d) => d.error?.rule ?? (d.value as { kind: string }).kind), ['Small', 'size-limit', 'After'], 'neighbours still decode');
  t.equal(decodeStream('kind: A\npad: ' + 'é'.repeat(60) + '\n', { maxDocumentBytes: 100 })[0]!.error?.rule, 'size-limit', 'counted in UTF-8 bytes');
  t.notOk(decodeStream('kind: A\npad: ' + 'e'.repeat(60) + '\n', { maxDocumentBytes: 100 })[0]!.error);
});

t.test('invalid UTF-8 and binary input', async (t) => {
  const enc = new TextEncoder();
  const withBytes = (prefix: string, bad: number[], suffix = '\n'): Uint8Array =>
    new Uint8Array([...enc.encode(prefix), ...bad, ...enc.encode(suffix)]);
  // kubectl replaces each maximal invalid subsequence with U+FFFD and goes on (the counts are kubectl's:
  // see kubectl-oracle.test.ts, which compares with the real kubectl)
  const R = '\ufffd';
  const cases: [string, Uint8Array, Record<string, string>][] = [
    ['lone continuation', withBytes('kind: A\nname: ab', [0x80]), { kind: 'A', name: `ab${R}` }],
    ['truncated sequence', withBytes('kind: A\nname: é', [0xe2, 0x82]), { kind: 'A', name: `é${R}` }],
    ['overlong', withBytes('kind: A\nx: ', [0xc0, 0xaf]), { kind: 'A', x: R + R }],
    ['encoded surrogate', withBytes('kind: A\nx: ', [0xed, 0xa0, 0x80]), { kind: 'A', x: R + R + R }],
    ['latin-1', withBytes('kind: A\nname: caf', [0xe9]), { kind: 'A', name: `caf${R}` }],
    ['in a quoted key', withBytes('kind: A\n"k', [0xff, 0xfe], '": v\n'), { kind: 'A', [`k${R}${R}`]: 'v' }],
  ];
  for (const [name, bytes, value] of cases) {
    const docs = decodeStream(bytes);
    t.equal(docs.length, 1, name);
    t.notOk(docs[0]!.error, `${name}: decodes (${docs[0]!.error?.message ?? ''})`);
    t.same(docs[0]!.value, value, `${name}: replaced with U+FFFD`);
  }
  const second = decodeStream(new Uint8Array([...enc.encode('kind: A\n---\nkind: B\nx: '), 0xc3, 0x28, ...enc.encode('\n---\nkind: C\n')]));
  t.same(second.map((d) => d.value), [{ kind: 'A' }, { kind: 'B', x: `${R}(` }, { kind: 'C' }], 'every document of the file is decoded');
  const utf16 = (bom: number[], le: boolean): Uint8Array => {
    const text = 'kind: A\nname: "café 😀"\n';
    const out = [...bom];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      out.push(...(le ? [c & 0xff, c >> 8] : [c >> 8, c & 0xff]));
    }
    return new Uint8Array(out);
  };
  t.same(decodeStream(utf16([0xff, 0xfe], true))[0]!.value, { kind: 'A', name: 'café 😀' }, 'UTF-16LE with a BOM');
  t.same(decodeStream(utf16([0xfe, 0xff], false))[0]!.value, { kind: 'A', name: 'café 😀' }, 'UTF-16BE with a BOM');
  t.equal(decodeStream(utf16([], true))[0]!.error?.rule, 'binary', 'UTF-16 without a BOM is not read');
  const good = decodeStream(enc.encode('kind: A\nname: "é 😀"\n'));
  t.same(good[0]!.value, { kind: 'A', name: 'é 😀' }, 'valid UTF-8 bytes decode');
  const bom = decodeStream(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('kind: A\n')]));
  t.same(bom[0]!.value, { kind: 'A' }, 'a UTF-8 BOM is accepted');

  const bin = decodeStream(new Uint8Array([...enc.encode('kind: A\nx: '), 0, 1, 2]));
  t.equal(bin[0]!.error?.rule, 'binary');
  t.equal(bin[0]!.error?.line, 2);
  t.equal(bin[0]!.error?.column, 4);
  t.equal(decodeStream('kind: A\n\0')[0]!.error?.rule, 'binary', 'NUL in a string too');
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
  t.equal(decodeStream(png)[0]!.error?.rule, 'binary');
  t.equal(decodeStream(new Uint8Array(0)).length, 0, 'empty input: no documents');
});

t.test('fuzz: random mutations never throw and stay fast', async (t) => {
  const r = rng(42);
  const alphabet = ['-', ':', ' ', '\n', '\t', '#', '&', '*', '!', '|', '>', '[', ']', '{', '}', '"', "'", '\\', '---\n', '...\n', '<<: ', '? ', '%', '@', 'é', '\r', '\u2028', '0x', 'yes', '~'];
  let maxMs = 0;
  let errors = 0;
  let total = 0;
  const started = Date.now();
  for (let i = 0; i < 1500; i++) {
    let s = SEED;
    const edits = 1 + Math.floor(r() * 8);
    for (let e = 0; e < edits; e++) {
      const p = Math.floor(r() * s.length);
      const roll = r();
      if (roll < 0.4) s = s.slice(0, p) + alphabet[Math.floor(r() * alphabet.length)] + s.slice(p);
      else if (roll < 0.7) s = s.slice(0, p) + s.slice(p + 1 + Math.floor(r() * 5));
      else if (roll < 0.85) {
        const q = Math.floor(r() * s.length);
        s = s.slice(0, p) + s.slice(q, q + 40) + s.slice(p);
      } else s = s.slice(0, p) + String.fromCharCode(Math.floor(r() * 0x3000)) + s.slice(p + 1);
    }
    const input: string | Uint8Array = i % 3 === 0 ? new TextEncoder().encode(s).map((b) => (r() < 0.002 ? (b ^ 0x80) : b)) : s;
    let docs: ReturnType<typeof decodeStream> = [];
    const [, ms] = timed(() => {
      docs = decodeStream(input);
    });
    maxMs = Math.max(maxMs, ms);
    total += docs.length;
    errors += docs.filter((d) => d.error).length;
    for (const d of docs) {
      if (d.error) {
        if (typeof d.error.rule !== 'string' || typeof d.error.message !== 'string' || d.error.message.includes('\n')) {
          t.fail(`malformed error: ${JSON.stringify(d.error)}`);
        }
      } else if (d.value === null || typeof d.value !== 'object' || Array.isArray(d.value)) t.fail('a value that is not an object');
    }
  }
  t.ok(maxMs < 500, `slowest mutated stream: ${maxMs.toFixed(1)} ms`);
  t.ok(Date.now() - started < 60_000, 'whole fuzz run bounded');
  t.ok(errors > 0 && errors < total, `${errors} of ${total} mutated documents failed, the rest decoded`);
  // pure noise
  for (let i = 0; i < 300; i++) {
    const len = Math.floor(r() * 400);
    const s = Array.from({ length: len }, () => String.fromCharCode(1 + Math.floor(r() * 0x7f))).join('');
    t.doesNotThrow(() => decodeStream(s));
  }
  t.doesNotThrow(() => decodeStream(undefined as unknown as string), 'wrong argument types do not throw either');
  t.doesNotThrow(() => decodeStream(SEED, { maxDepth: -1, maxAliasExpansion: NaN, maxDocumentBytes: Infinity }));
});

t.test('merge keys follow go-yaml v2: later entries overwrite', async (t) => {
  const v = decodeStream('kind: M\nb: &b {x: 1, k: 2}\nm1: {<<: *b, k: 3}\nm2: {k: 3, <<: *b}\nm3: {x: [*b], <<: *b}\n')[0]!.value;
  t.same(v, { kind: 'M', b: { x: 1, k: 2 }, m1: { x: 1, k: 3 }, m2: { k: 2, x: 1 }, m3: { x: 1, k: 2 } });
});
