/** Durations as the CRDs write them (Go's time.ParseDuration syntax). */
/** Go-style durations (`90s`, `1m30s`, `2h`, `500ms`) to milliseconds; `fallbackMs` when absent or unparsable. */
export function durationMs(d: string | undefined, fallbackMs: number): number {
  if (!d) return fallbackMs;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = d.trim();
  while (rest.length) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return fallbackMs;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
