// Process-level metrics in the Prometheus text format: a small registry any role can count
// into, counters kept elsewhere (the shard's and bridge's `metrics` records) and gauges, all read
// at scrape.

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels?: Labels, n?: number): void;
}

/** A Prometheus histogram: counts of observations at or under each bucket's upper bound, their
 * sum and count. Kept by whoever observes (a shard, say) and added to a registry to be shown. */
export interface Histogram {
  readonly name: string;
  readonly help: string;
  observe(value: number): void;
  /** `[upper bound, cumulative count]` for each bucket, `+Inf` last; the sum and the count. */
  snapshot(): { buckets: Array<[number, number]>; sum: number; count: number };
}

export function createHistogram(name: string, help: string, bounds: readonly number[]): Histogram {
  const upper = [...bounds].sort((a, b) => a - b);
  const counts = new Array<number>(upper.length + 1).fill(0);
  let sum = 0;
  return {
    name: metricName(name),
    help,
    observe(value) {
      let i = 0;
      while (i < upper.length && value > upper[i]) i++;
      counts[i]++;
      sum += value;
    },
    snapshot() {
      let running = 0;
      const buckets = upper.map((le, i) => [le, running += counts[i]] as [number, number]);
      running += counts[upper.length];
      buckets.push([Infinity, running]);
      return { buckets, sum, count: running };
    },
  };
}

export interface MetricsRegistry {
  /** A counter named `name` (`_total` is appended when missing); the same name, the same counter. */
  counter(name: string, help: string): Counter;
  /** Counters held outside the registry, read at each scrape; each key becomes
   * `{prefix}{key}_total`. */
  collect(source: () => Record<string, number>, options?: { prefix?: string }): void;
  /** Gauges read at each scrape: each key of what `read` returns becomes a gauge named `{key}`,
   * described by `help[key]`. One read serves every key, so they describe one moment. */
  gauges(read: () => Record<string, number>, help: Readonly<Record<string, string>>): void;
  /** Histograms kept elsewhere, read at each scrape. */
  histogram(histogram: Histogram): void;
  /** Every counter in the Prometheus text exposition format (version 0.0.4). */
  render(): string;
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A Prometheus metric name from any text: invalid characters become `_`. */
export function metricName(text: string): string {
  const name = text.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[a-zA-Z_:]/.test(name) ? name : `_${name}`;
}

function labelText(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `{${entries.map(([k, v]) => `${metricName(k)}="${escape(v)}"`).join(",")}}`;
}

function withTotal(name: string): string {
  const n = metricName(name);
  return n.endsWith("_total") ? n : `${n}_total`;
}

export function createMetricsRegistry(): MetricsRegistry {
  const counters = new Map<string, { help: string; values: Map<string, number> }>();
  const sources: { read: () => Record<string, number>; prefix: string }[] = [];
  const gaugeSources: {
    read: () => Record<string, number>;
    help: Readonly<Record<string, string>>;
  }[] = [];
  const histograms: Histogram[] = [];

  return {
    counter(name, help) {
      const full = withTotal(name);
      let entry = counters.get(full);
      if (!entry) counters.set(full, entry = { help, values: new Map() });
      const values = entry.values;
      return {
        inc(labels, n = 1) {
          const key = labelText(labels);
          values.set(key, (values.get(key) ?? 0) + n);
        },
      };
    },
    collect(read, { prefix = "" } = {}) {
      sources.push({ read, prefix });
    },
    gauges(read, help) {
      gaugeSources.push({ read, help });
    },
    histogram(histogram) {
      histograms.push(histogram);
    },
    render() {
      const lines: string[] = [];
      const seen = new Set<string>();
      for (const [name, { help, values }] of counters) {
        seen.add(name);
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
        for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`);
      }
      for (const { read, prefix } of sources) {
        let record: Record<string, number>;
        try {
          record = read();
        } catch {
          continue; // a role that is stopping must not break the scrape
        }
        for (const [key, value] of Object.entries(record).sort(([a], [b]) => a < b ? -1 : 1)) {
          const name = withTotal(prefix + key);
          if (seen.has(name) || typeof value !== "number" || !Number.isFinite(value)) continue;
          seen.add(name);
          lines.push(
            `# HELP ${name} Counted by the process (${key}).`,
            `# TYPE ${name} counter`,
            `${name} ${value}`,
          );
        }
      }
      for (const { read, help } of gaugeSources) {
        let record: Record<string, number>;
        try {
          record = read();
        } catch {
          continue;
        }
        for (const [key, value] of Object.entries(record)) {
          const name = metricName(key);
          if (seen.has(name) || typeof value !== "number" || !Number.isFinite(value)) continue;
          seen.add(name);
          lines.push(
            `# HELP ${name} ${help[key] ?? key}`,
            `# TYPE ${name} gauge`,
            `${name} ${value}`,
          );
        }
      }
      for (const h of histograms) {
        if (seen.has(h.name)) continue;
        seen.add(h.name);
        const { buckets, sum, count } = h.snapshot();
        lines.push(`# HELP ${h.name} ${h.help}`, `# TYPE ${h.name} histogram`);
        for (const [le, n] of buckets) {
          lines.push(`${h.name}_bucket{le="${le === Infinity ? "+Inf" : le}"} ${n}`);
        }
        lines.push(`${h.name}_sum ${sum}`, `${h.name}_count ${count}`);
      }
      return lines.join("\n") + "\n";
    },
  };
}

/**
 * The roles' `metrics` records as one source for `collect`, each key prefixed by its role:
 * `roleCounters({ shard: shard.metrics, bridge: bridge.metrics })` → `{ shard_transitions: … }`.
 * The records are read live, so later increments show at the next scrape.
 */
export function roleCounters(
  records: Readonly<Record<string, Record<string, number> | undefined>>,
): () => Record<string, number> {
  return () => {
    const out: Record<string, number> = {};
    for (const [role, record] of Object.entries(records)) {
      for (const [key, value] of Object.entries(record ?? {})) out[`${role}_${key}`] = value;
    }
    return out;
  };
}
