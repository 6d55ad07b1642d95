// A percentile of what a Prometheus histogram on Downlink's /metrics observed between two
// scrapes: the cumulative bucket counts of the later scrape minus the earlier one's. Exact only to
// a bucket: the answer is the upper bound of the bucket the percentile falls in.

/** Cumulative count per upper bound (`+Inf` as Infinity), from one scrape. */
export type Buckets = Map<number, number>;

/** The `{name}_bucket{le="…"}` samples of one scrape. */
export function bucketsOf(scraped: ReadonlyMap<string, number>, name: string): Buckets {
  const out: Buckets = new Map();
  const prefix = `${name}_bucket{le="`;
  for (const [key, value] of scraped) {
    if (!key.startsWith(prefix)) continue;
    const le = key.slice(prefix.length, key.indexOf('"', prefix.length));
    out.set(le === "+Inf" ? Infinity : Number(le), value);
  }
  return out;
}

/** The upper bound of the bucket holding the `p`th percentile of the observations made between
 * `before` and `after`, or undefined when there were none. */
export function percentileBetween(before: Buckets, after: Buckets, p: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  const rank = Math.ceil((p / 100) * total);
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= rank) return le;
  }
  return Infinity;
}
