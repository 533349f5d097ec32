/** Seeded random mutations of valid objects, for differential fuzzing. */
import type { KindDefinition } from '../../src/schema';
import { casesFor } from './corpus';

export { prng } from '../support/prng';

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

/** Every place in the object where a value sits (skipping apiVersion/kind). */
function slots(v: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(v)) v.forEach((child, i) => { out.push({ parent: v, key: i }); slots(child, out); });
  else if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      if (k === 'apiVersion' || k === 'kind') continue;
      out.push({ parent: v as Record<string, unknown>, key: k });
      slots(child, out);
    }
  }
  return out;
}

const STRINGS = ['', 'On', 'x', 'Not Valid!', 'a'.repeat(64), 'a'.repeat(254), '10.0.0.256', '4Gi', '-1', '1.5', 'true', 'µs'];
const NUMBERS = [0, -1, 1, 1.5, 99, 100, 128, 129, 1000, 1001, 65536, 65537, 2147483647, 2147483648, -2147483649];

function randomValue(r: () => number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  switch (Math.floor(r() * 7)) {
    case 0: return pick(STRINGS);
    case 1: return pick(NUMBERS);
    case 2: return r() < 0.5;
    case 3: return null;
    case 4: return {};
    case 5: return [];
    default: return { name: pick(STRINGS) };
  }
}

/** Applies 1-3 random mutations; returns a description of what changed. */
export function mutate(obj: Record<string, unknown>, r: () => number): string[] {
  const done: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = slots(obj);
    if (all.length === 0) break;
    const s = all[Math.floor(r() * all.length)];
    const op = Math.floor(r() * 6);
    const current = (s.parent as any)[s.key];
    if (op === 0 && !Array.isArray(s.parent)) {
      delete (s.parent as Record<string, unknown>)[s.key as string];
      done.push(`delete ${String(s.key)}`);
    } else if (op === 1 && typeof current === 'number') {
      (s.parent as any)[s.key] = current + (r() < 0.5 ? -1 : 1) * (r() < 0.8 ? 1 : 1000);
      done.push(`nudge ${String(s.key)}`);
    } else if (op === 2 && typeof current === 'string') {
      (s.parent as any)[s.key] = r() < 0.5 ? current + current : current.toUpperCase() + '_';
      done.push(`restring ${String(s.key)}`);
    } else if (op === 3 && Array.isArray(current) && current.length) {
      current.push(structuredClone(current[0]));
      done.push(`duplicate item in ${String(s.key)}`);
    } else if (op === 4 && current && typeof current === 'object' && !Array.isArray(current)) {
      (current as Record<string, unknown>)[r() < 0.5 ? 'extraField' : 'name'] = randomValue(r);
      done.push(`add field under ${String(s.key)}`);
    } else {
      (s.parent as any)[s.key] = randomValue(r);
      done.push(`replace ${String(s.key)}`);
    }
  }
  return done;
}

/** Valid starting points: each kind's fully populated object and the valid boundary cases. */
export function seeds(kinds: readonly KindDefinition[]): Record<string, unknown>[] {
  return kinds.flatMap((k) => casesFor(k).filter((c) => !c.old && !c.strict && /valid with every|: at (minimum|maximum|maxLength|maxItems)/.test(c.id)).map((c) => c.object));
}
