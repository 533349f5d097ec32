/**
 * Kubernetes resource quantities (`512Mi`, `4Gi`, `1.5G`, `2e9`, plain
 * numbers) to bytes. Only what VMClass sizes need: non-negative values with
 * binary or decimal suffixes. The schema already checked the syntax, so an
 * unparsable value here is a bug upstream and gets a clear error.
 */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function quantityToBytes(q: number | string): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/.exec(q.trim());
  if (!m) throw new Error(`"${q}" is not a Kubernetes quantity`);
  const n = Number(m[1]);
  if (m[2]) return n * BINARY[m[2]]!;
  if (m[3]) return n * 10 ** Number(m[3].slice(1));
  return n * DECIMAL[m[4] ?? '']!;
}

/** Whole MiB, rounded down, as the manager converts VMClass memory (§14.2 VM-9). */
export function quantityToMiB(q: number | string): number {
  return Math.floor(quantityToBytes(q) / 2 ** 20);
}

/** Whole GiB, rounded down. */
export function quantityToGiB(q: number | string): number {
  return Math.floor(quantityToBytes(q) / 2 ** 30);
}
