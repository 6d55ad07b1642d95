// How far V8's old generation may grow past its live objects before it is collected: held to a
// percentage while the live heap is small, left to V8's own heuristic once it is large.
//
// V8 lets the old generation grow up to about four times its live objects when allocation is
// fast: at 200 commands/s it swung 42-125 MiB around 35-45 MiB of live objects (RSS 155-260 MiB);
// held to 40 % it stayed at 45 MiB (RSS 155-173 MiB). The price: a full collection after every
// 40 % of the live heap promoted, so 2.5 times the live heap marked per byte promoted, against
// about a third under V8's heuristic (in heap_churn's test, 21 full collections against 4). At
// 200/s that is cheap; in a 1,000/s burst that fills the heap with 100,000 in-flight commands, the
// hold went with a third fewer commands accepted (docs/PERFORMANCE.md). So it applies only while
// the live heap is below `heldBelowBytes`: small heaps, where RSS swings are what an operator
// sees; above, V8's heuristic keeps full collections rare.
//
// V8 reads --heap-growing-percent at every full collection (0 meaning its own heuristic), so
// setting the flag at any time takes effect at the next one; Deno passes it on too.
import process from "node:process";
import v8 from "node:v8";
import { backgroundClock, type Clock } from "../async/time.ts";

export interface HeapGrowthLimit {
  /** How far past its live objects the old generation may grow, in percent; 0: V8's own. */
  percent: number;
  /** Live heap (bytes) from which on V8's heuristic applies instead of `percent`. */
  heldBelowBytes: number;
}

/** How many of the latest heap samples the live heap is read from: held to 40 %, a full
 * collection comes every few seconds under load, so 10 s of samples hold one. */
export const HEAP_SAMPLES = 10;
/** How often the heap is sampled, in ms. */
export const HEAP_SAMPLE_INTERVAL_MS = 1_000;

/**
 * The growth to give V8 now, from the latest samples of the heap in use: the live heap is read as
 * their lowest, since heap used includes garbage not yet collected and drops to about the live
 * objects after each full collection (held to 40 %, one comes every few seconds under load).
 * Without samples, the heap is taken as small.
 */
export function heapGrowthPercent(
  limit: HeapGrowthLimit,
  heapUsedSamples: readonly number[],
): number {
  if (limit.percent <= 0) return 0;
  if (heapUsedSamples.length === 0) return limit.percent;
  return Math.min(...heapUsedSamples) < limit.heldBelowBytes ? limit.percent : 0;
}

export interface HeapGrowthControl {
  /** The growth last given to V8, in percent (0: V8's own heuristic). */
  percent(): number;
  stop(): void;
}

/**
 * Holds V8's heap growth to `limit.percent` while the live heap stays below
 * `limit.heldBelowBytes`, sampling the heap every second; with `percent` 0 it leaves V8 alone and
 * samples nothing. `heapUsed` and `setPercent` are V8's unless a test gives its own.
 */
export function limitHeapGrowth(
  limit: HeapGrowthLimit,
  {
    clock = backgroundClock,
    heapUsed = () => process.memoryUsage().heapUsed,
    setPercent = (percent: number) => v8.setFlagsFromString(`--heap-growing-percent=${percent}`),
    intervalMs = HEAP_SAMPLE_INTERVAL_MS,
    samples: window = HEAP_SAMPLES,
  }: {
    clock?: Clock;
    heapUsed?: () => number;
    setPercent?: (percent: number) => void;
    /** Sampling (tests shorten it); defaults above. */
    intervalMs?: number;
    samples?: number;
  } = {},
): HeapGrowthControl {
  if (limit.percent <= 0) return { percent: () => 0, stop() {} };
  const samples: number[] = [];
  let current = heapGrowthPercent(limit, samples);
  setPercent(current);
  let timer: unknown;
  const tick = () => {
    samples.push(heapUsed());
    if (samples.length > window) samples.shift();
    const next = heapGrowthPercent(limit, samples);
    if (next !== current) setPercent(current = next);
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return {
    percent: () => current,
    stop: () => clock.clearTimeout(timer),
  };
}
