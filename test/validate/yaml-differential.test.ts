/**
 * The fast path (fast.ts) and the full path (full.ts) must agree on every
 * document the fast path accepts: same value, or same error rule. Fixtures
 * plus generated block-style manifests full of tricky scalars.
 */
import t, { type Test } from 'tap';
import { FALLBACK, fastDecode, fastOut } from '../../src/validate/yaml/fast';
import { fullDecode } from '../../src/validate/yaml/full';
import { LineIndex } from '../../src/validate/yaml/positions';
import { DecodeFailure, limitsOf } from '../../src/validate/yaml/types';
import { decodeStream } from '../../src/validate/yaml';
import { canon, fixture, fixtureNames, rng } from './fixtures/yaml/helpers';

const lim = limitsOf({});

type Outcome = { value: unknown } | { rule: string };

function outcome(f: () => unknown): Outcome | typeof FALLBACK {
  try {
    const v = f();
    return v === FALLBACK ? FALLBACK : { value: canon(v) };
  } catch (e) {
    if (e instanceof DecodeFailure) return { rule: e.rule };
    throw e;
  }
}

/** Compare both paths on every `---`-framed document of `text`; returns [fast-handled, total]. */
function compareAll(t: Test, text: string, label: string): [number, number] {
  const lines = new LineIndex(text);
  let pos = 0;
  let line = 1;
  let handled = 0;
  let total = 0;
  while (pos <= text.length) {
    let end: number;
    let endLine: number;
    const fast = outcome(() => fastDecode(text, pos, line, lim, lim.maxDocumentBytes));
    if (fast !== FALLBACK && 'value' in fast) {
      end = fastOut.end;
      endLine = fastOut.endLine;
    } else {
      // frame by hand
      let p = pos;
      let l = line;
      while (p < text.length && !text.startsWith('---', p)) {
        const nl = text.indexOf('\n', p);
        p = nl < 0 ? text.length : nl + 1;
        l++;
      }
      end = p;
      endLine = l;
    }
    total++;
    if (fast !== FALLBACK) {
      handled++;
      const full = outcome(() => fullDecode(text, pos, end, lim, lines));
      t.same(fast, full, `${label}: document at line ${line} decodes the same on both paths`);
    }
    if (end >= text.length) break;
    const nl = text.indexOf('\n', end);
    pos = nl < 0 ? text.length : nl + 1;
    line = endLine + 1;
  }
  return [handled, total];
}

t.test('fixtures', async (t) => {
  let handled = 0;
  for (const name of fixtureNames('.yaml')) {
    const [h] = compareAll(t, fixture(name), name);
    handled += h;
  }
  t.ok(handled >= 20, `the fast path handled ${handled} fixture documents`);
});

// ---------------------------------------------------------------- generator

const SCALARS = [
  'On', 'on', 'ON', 'oN', 'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'NO', 'No', 'true', 'True', 'TRUE', 'tRue', 'false',
  'False', 'off', 'Off', 'OFF', '~', 'null', 'Null', 'NULL', 'nULL', '0777', '0o17', '0x1F', '0X1F', '0b101', '-0b101', '08',
  '09.5', '1_000', '1__0', '_1', '1_', '+12', '-12', '+0', '-0', '0', '00', '1e18', '1e21', '1e20', '1.0', '1.', '.5', '-.5',
  '+.5', '5e-7', '1E5', '1e+5', '1.5e300', '1e400', '9007199254740991', '9007199254740992', '9007199254740993',
  '-9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '99999999999999999999', '0x7FFFFFFFFFFFFFFF', '0x8000000000000000',
  '0xFFFFFFFFFFFFFFFF', '0x10000000000000000', '-0x10', '1:30', '2001-12-14', '2001-12-14T21:59:43.10-05:00', '1.2.3', '0x',
  '0xG', '1e', 'e5', '.e5', '.', '+', '-.', '0.1', '3.14159265358979323846', '1_000.5', '1_0e1_0', '0x1_F', '0b1_0', '0o1_7',
  '0_7', '+0x10', '0x_10', '12345678901234567890123', '1.7976931348623157e308', '1.8e308', '4.9e-324', '1e-400', '0.0',
  '-0.0', '=', '0b-1', '0b+1', '-0b-1', '.5_0', '._5', '.5_', '.5e1_0', '+-1', '1,000', '1 000', '-1_', '+_1', '10Gi', '100m',
  '80%', 'v1', 'a b c', 'x:y', 'http://h:1/p', 'a#b', 'café', '日本', '😀', 'n/a', '-x', 'with  two  spaces',
  '"dq"', "'sq'", '"a\\tb\\u00e9\\x41\\"\\\\"', "'it''s'", '""', "''", '"yes"', "'0x10'", '"#not comment"', "'a: b'",
  '.inf', '-.inf', '.nan', '', '[]', '{}', '[] # c', '{}x', '[ ]', '[a]',
];
const KEYS = [
  'name', 'kind', 'spec', 'a', 'b', 'c', 'port', 'on', 'y', 'no', '1', '2', '0x10', '1.5', '2e9', '~', 'null', '"quoted"',
  "'single'", 'with space', 'a.b/c', 'x-y', '__proto__', 'constructor', 'prototype', 'toString', '-k', '0.1', '.inf', '-1',
  '9223372036854775808', '00', '0b11', 'true', 'False',
];

function gen(r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: string[] = [];
  const eol = r() < 0.1 ? '\r\n' : '\n';
  let budget = 40;
  const comment = (): string => (r() < 0.1 ? ' # c' : '');
  const value = (): string => pick(SCALARS);
  function map(indent: number, depth: number, first: string | null): void {
    const n = 1 + Math.floor(r() * 4);
    const used = new Set<string>();
    for (let i = 0; i < n && budget-- > 0; i++) {
      let k = pick(KEYS);
      if (used.has(k)) continue;
      used.add(k);
      const prefix = i === 0 && first !== null ? first : ' '.repeat(indent);
      const roll = r();
      if (r() < 0.05) out.push('');
      if (r() < 0.05) out.push(' '.repeat(indent) + '# comment');
      if (depth < 5 && roll < 0.25) {
        out.push(`${prefix}${k}:${comment()}`);
        map(indent + 1 + Math.floor(r() * 3), depth + 1, null);
      } else if (depth < 5 && roll < 0.4) {
        out.push(`${prefix}${k}:`);
        seq(r() < 0.3 ? indent : indent + 2, depth + 1);
      } else {
        const v = value();
        out.push(`${prefix}${k}:${v === '' ? '' : ' ' + v}${comment()}`);
      }
    }
  }
  function seq(indent: number, depth: number): void {
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n && budget-- > 0; i++) {
      const roll = r();
      const dash = ' '.repeat(indent) + '-' + ' '.repeat(1 + Math.floor(r() * 2));
      if (depth < 5 && roll < 0.35) map(dash.length, depth + 1, dash);
      else if (depth < 5 && roll < 0.45) {
        out.push(dash.trimEnd());
        map(indent + 2, depth + 1, null);
      } else {
        const v = value();
        out.push(v === '' ? dash.trimEnd() : dash + v);
      }
    }
  }
  out.push('apiVersion: test/v1');
  out.push('kind: Generated');
  map(0, 0, null);
  return out.join(eol) + eol;
}

t.test('generated block manifests', async (t) => {
  const r = rng(20261123);
  let handled = 0;
  let total = 0;
  const docs: string[] = [];
  for (let i = 0; i < 400; i++) docs.push(gen(r));
  const stream = docs.join('---\n');
  const [h, n] = compareAll(t, stream, 'generated');
  handled += h;
  total += n;
  t.equal(total, 400, 'all generated documents were framed');
  t.ok(handled > 200, `the fast path handled ${handled} of ${total}`);
  // and the stream decoder gives one result per document
  t.equal(decodeStream(stream).length, 400);
});

// ---------------------------------------------------------- block scalars

const BLOCK_CASES = [
  'a: |\n  x\n  y\n', 'a: |\n  x', 'a: |-\n  x', 'a: |+\n  x', 'a: |+\n  x\n\n\n', 'a: |\n  x\n\n\nb: 1\n', 'a: |-\n  x\n\n',
  'a: >\n  a\n  b\n\n  c\n    d\n  e\n', 'a: >\n  a\n\n\n  b\n', 'a: >\n   sp\n  a\n  b\n', 'a: >\n  a\n   \n  b\n',
  'a: |\n  a\n     \n  b\n', 'a: >\n  a\n     \n  b\n', 'a: |\n  x\n     \n', 'a: |+\n  x\n     \n', 'a: |\nb: 1\n', 'a: |',
  'a: |+\nb: 1\n', 'a: |\n\nb: 1\n', 'a: |+\n\nb: 1\n', 'a: |\n\n  x\n', 'a: >\n\n\n  x\n  y\n', 'a: |\n  # not a comment\n  x\n',
  'a: |\n  a\tb\n  \tc\n', 'a: |\n  a\tb\n  c\t\n', 'a: |\n    a\n  \tb\n', 'a: >\n  a\n    \tb\n  c\n', 'a: |2\n    x\n  y\n',
  'a: |1\n  x\n', '- |\n  x\n- >-\n  y\n  z\n', '- - |\n    x\n', '- k: |\n    x\n  j: 1\n', '- k: |2\n     x\n  j: 1\n',
  '- |2\n   x\n', 'k:\n- |\n x\n- |2\n   y\n', 'a:\n  b: |\n    x\n  c: >+\n    y\n\n\n---\nd: 1\n', 'a: |\n  x\n---\nb: 1\n',
  'a: | # c\n  x\n', 'a: |-2\n    x\n', 'a: |2-\n    x\n', 'a: |+2\n  x\n', 'a: |0\n  x\n', 'a: |10\n  x\n', 'a: |#c\n  x\n',
  'a: |x\n  x\n', 'a: |\t\n  x\n', 'a: |\r\n  x\r\n  y\r\n\r\n', 'a: >\r\n  x\r\n  y\r\n', 'a: >-\n  a\n  b\n  \n  c\n',
  'a: |\n  x\n b: 1\n', 'a: |\n    x\n  y\n', 'a: |\n  x\n# c\nb: 2\n', 'a: |\n  x\n  # c\nb: 2\n', 'a: |\n    x\n  # c\nb: 2\n',
  'a: >\n  x\n\n', 'a: >+\n  x\n\n', 'a: >\n\n', 'a: |\n  x\n  \n  ', 'a: |+\n  x\n  \n  ', 'a: >\n  x\n  ', 'a: >\n  x\n\n  ',
  'a: |+', 'a: >-\n', 'b: 1\na: |\n   \n  x\n', 'a: >\n  one\n   two\n  three\n', 'a: >\n    a\n  b\n',
  'a: >\n  a\n\n   b\n\n  c\n', 'a: |\n  😀 café\n', 'a: |+\n  x\n\n---\n', 'a: |\n  x\r y\n', 'a: |\n  x\u0085y\n',
  'a: >\n  ...\n  ---\n  - x\n  k: v\n', 'a: |\n  x\n...\n', 'a: |\n  x\n  y', 'a: >+\n  x\n\n\n', 'a: |-\n\n  x\n\n',
  'a: >2\n   x\n  y\n\n   z\n', 'a: >1\n  x\n', '- >\n x\n y\n-  |\n   z\n', '- - >-\n    a\n    b\n  - |\n    c\n',
  'a:\n  - b: |\n      x\n    c: |\n      y\n  - >\n    z\n', 'a: |\n  x\n  ', 'a: |\n  x\n\t\nb: 1\n', 'a: |\n  \t\n  x\n',
];

t.test('block scalars', async (t) => {
  let handled = 0;
  for (const c of BLOCK_CASES) {
    for (const eol of ['\n', '\r\n']) {
      const text = eol === '\n' ? c : c.replace(/\r?\n/g, '\r\n');
      const [h] = compareAll(t, text, JSON.stringify(text));
      handled += h;
    }
  }
  t.ok(handled >= 100, `the fast path handled ${handled} block-scalar documents`);
});

const BLOCK_LINES = ['x', 'two words', '# not a comment', 'a\tb', 'k: v', '- item', '  more', '   ', '', '', ' ', '\tt', 'end  ', '"q"'];

function genBlocks(r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: string[] = ['apiVersion: test/v1', 'kind: Blocks'];
  const header = (): string => {
    const ind = r() < 0.15 ? String(1 + Math.floor(r() * 3)) : '';
    const ch = pick(['', '', '-', '+']);
    return pick(['|', '>']) + (r() < 0.5 ? ind + ch : ch + ind) + (r() < 0.1 ? ' # c' : '');
  };
  const body = (indent: number): void => {
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const extra = r() < 0.2 ? 1 + Math.floor(r() * 3) : 0;
      const l = pick(BLOCK_LINES);
      out.push(l === '' ? (r() < 0.5 ? '' : ' '.repeat(Math.floor(r() * (indent + 3)))) : ' '.repeat(indent + extra) + l);
    }
  };
  const m = 1 + Math.floor(r() * 5);
  for (let i = 0; i < m; i++) {
    const roll = r();
    if (roll < 0.5) {
      out.push(`k${i}: ${header()}`);
      body(1 + Math.floor(r() * 4));
    } else if (roll < 0.8) {
      out.push(`s${i}:`);
      const ind = r() < 0.5 ? 0 : 2;
      for (let q = 0; q < 1 + Math.floor(r() * 3); q++) {
        out.push(' '.repeat(ind) + '- ' + header());
        body(ind + 1 + Math.floor(r() * 3));
      }
    } else {
      out.push(`m${i}:`);
      out.push(`  - a: ${header()}`);
      body(4 + Math.floor(r() * 2));
      out.push(`    b: 1`);
    }
  }
  const eol = r() < 0.1 ? '\r\n' : '\n';
  return out.join(eol) + (r() < 0.9 ? eol : '');
}

t.test('generated block scalars', async (t) => {
  const r = rng(7051);
  const docs: string[] = [];
  for (let i = 0; i < 600; i++) docs.push(genBlocks(r));
  let handled = 0;
  let total = 0;
  // one stream (documents separated by `---`) and each document alone (end of stream without a newline)
  const joined = docs.map((d) => (d.endsWith('\n') ? d : d + '\n')).join('---\n');
  [handled, total] = compareAll(t, joined, 'generated blocks');
  t.equal(total, 600, 'all documents were framed');
  for (const d of docs.slice(0, 200)) compareAll(t, d, JSON.stringify(d));
  t.ok(handled > 100, `the fast path handled ${handled} of ${total}`);
});

// ------------------------------------------------------ one-line flow style

/** A one-line flow collection of generated scalars, keys and nested collections. */
function genFlow(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const sp = (): string => (r() < 0.2 ? '' : r() < 0.9 ? ' ' : '  ');
  const node = (): string => (depth < 4 && r() < 0.25 ? genFlow(r, depth + 1) : pick(SCALARS.filter((s) => !s.includes(' #'))));
  const n = Math.floor(r() * 5);
  const items: string[] = [];
  const seq = r() < 0.5;
  for (let i = 0; i < n; i++) items.push(seq ? node() : `${pick(KEYS)}:${r() < 0.05 ? '' : ' '}${node()}`);
  const trailing = n > 0 && r() < 0.1 ? ',' : '';
  return seq ? `[${sp()}${items.join(`${sp()},${sp()}`)}${trailing}${sp()}]` : `{${sp()}${items.join(`,${sp()}`)}${trailing}${sp()}}`;
}

t.test('generated one-line flow collections', async (t) => {
  const r = rng(20261202);
  const docs: string[] = [];
  for (let i = 0; i < 600; i++) {
    const lines = ['apiVersion: test/v1', 'kind: Flow'];
    for (let k = 0; k < 3; k++) lines.push(`${['a', 'b', 'c'][k]}: ${genFlow(r, 0)}${r() < 0.1 ? ' # c' : ''}`);
    if (r() < 0.3) lines.push(`d:\n  - ${genFlow(r, 0)}\n  - e: ${genFlow(r, 0)}`);
    docs.push(lines.join('\n') + '\n');
  }
  const [handled, total] = compareAll(t, docs.join('---\n'), 'flow');
  t.equal(total, 600, 'all generated documents were framed');
  t.ok(handled > 150, `the fast path handled ${handled} of ${total}`);
});

t.test('flow nesting at the depth limit decodes the same on both paths', async (t) => {
  for (const levels of [998, 999, 1000, 1001]) {
    const text = `a: ${'['.repeat(levels)}x${']'.repeat(levels)}\n`;
    const [handled] = compareAll(t, text, `${levels} levels`);
    t.equal(handled, 1, `${levels} levels: the fast path decides`);
  }
});
