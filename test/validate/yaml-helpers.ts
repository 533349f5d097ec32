/** Shared helpers for the YAML decoder tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, 'fixtures', 'yaml');

/** JSON-comparable form: bigints become {"$bigint": "..."}, as in the oracle files. */
export function canon(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (Array.isArray(v)) return v.map(canon);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      Object.defineProperty(out, k, { value: canon((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

export interface OracleEntry {
  v?: unknown;
  err?: string;
  skip?: boolean;
  strictErr?: string;
}

/** What kubectl's own code made of a fixture (see fixtures/yaml/README.md). */
export function oracle(name: string): OracleEntry[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as OracleEntry);
}

export function fixtureNames(ext: string): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith(ext)).sort();
}

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** Deterministic PRNG for fuzzing (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
