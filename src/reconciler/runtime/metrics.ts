/** A small Prometheus registry (text exposition format 0.0.4). */
import { cpuUsage, memoryUsage } from 'node:process';

export type Labels = Record<string, string | number>;

const labelKey = (labels?: Labels): string => {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',');
};

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const fmt = (v: number) => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');
const withLabels = (name: string, key: string) => (key ? `${name}{${key}}` : name);

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}
  abstract readonly type: string;
  abstract lines(): string[];
}

export class Counter extends Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();
  inc(labels?: Labels, value = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + value);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  lines(): string[] {
    return [...this.values].map(([k, v]) => `${withLabels(this.name, k)} ${fmt(v)}`);
  }
}

export class Gauge extends Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, number>();
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, value = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + value);
  }
  dec(labels?: Labels, value = 1): void {
    this.inc(labels, -value);
  }
  /** Drops the series of these labels (it is no longer exported). */
  remove(labels?: Labels): void {
    this.values.delete(labelKey(labels));
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  lines(): string[] {
    return [...this.values].map(([k, v]) => `${withLabels(this.name, k)} ${fmt(v)}`);
  }
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Histogram extends Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, readonly buckets: readonly number[] = DEFAULT_BUCKETS) {
    super(name, help);
  }
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s!.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }
  count(labels?: Labels): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? ',' : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${k}${sep}le="${fmt(b)}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      out.push(`${withLabels(`${this.name}_sum`, k)} ${fmt(s.sum)}`);
      out.push(`${withLabels(`${this.name}_count`, k)} ${s.count}`);
    }
    return out;
  }
}

/**
 * Registry. Asking twice for the same name returns the same metric, so
 * several queues or clients can share one registry.
 */
export class Metrics {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames?: readonly string[]): Counter {
    return this.getOrAdd(name, () => new Counter(name, help, labelNames), Counter);
  }

  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge {
    return this.getOrAdd(name, () => new Gauge(name, help, labelNames), Gauge);
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.getOrAdd(name, () => new Histogram(name, help, buckets), Histogram);
  }

  private getOrAdd<M extends Metric>(name: string, make: () => M, cls: abstract new (...a: any[]) => M): M {
    const m = this.metrics.get(name);
    if (m) {
      if (!(m instanceof cls)) throw new Error(`metric ${name} is already registered as a ${m.type}`);
      return m;
    }
    const created = make();
    this.metrics.set(name, created);
    return created;
  }

  render(): string {
    const mem = memoryUsage();
    const cpu = cpuUsage();
    const proc = [
      ['process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', mem.rss],
      ['process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6],
      ['nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', mem.heapUsed],
      ['process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', Math.round(Date.now() / 1000 - process.uptime())],
    ] as const;
    const out: string[] = [];
    for (const [name, type, help, v] of proc) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${fmt(v)}`);
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join('\n') + '\n';
  }
}
