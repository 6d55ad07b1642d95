// A child process for heap_growth_test: keeps about 40 MiB of objects alive while replacing
// them at random (so the replaced ones die old, in the old generation, like a command that
// lived for a few seconds), and prints the largest old generation it saw, in MiB, the full
// collections during the churn, the growth given to V8 at the end, and the live objects a full
// collection leaves at the end. Arguments: the growth percent and the live heap (MiB) below
// which it is held.
import process from "node:process";
import { setImmediate } from "node:timers/promises";
import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { limitHeapGrowth } from "../../src/runtime/heap_growth.ts";

const MiB = 2 ** 20;
// Sampled often, so the decision follows the heap within a fraction of the churn.
const control = limitHeapGrowth(
  { percent: Number(process.argv[2]), heldBelowBytes: Number(process.argv[3]) * MiB },
  { intervalMs: 10, samples: 5 },
);
let fullCollections = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullCollections++;
  }
}).observe({ entryTypes: ["gc"] });

const slots = 80_000;
const ring: { id: number; text: string; tags: string[] }[] = new Array(slots);
let seed = 1;
// xorshift32: the same sequence in every run, so every setting churns alike.
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!;
const entry = (i: number) => ({ id: i, text: `command-${i}-`.padEnd(96, "x"), tags: [`t${i}`] });
// Filled first, and given time for the sampler to see the live heap, so the churn below runs
// under the growth the live heap calls for.
for (let i = 0; i < slots; i++) {
  ring[i] = entry(i);
  if (i % 10_000 === 0) await setImmediate();
}
await new Promise((r) => setTimeout(r, 200));
fullCollections = 0;
let largest = 0;
for (let i = 0; i < 1_500_000; i++) {
  ring[Math.floor(random() * slots)] = entry(i);
  if (i % 20_000 === 0) {
    largest = Math.max(largest, old().space_size);
    // The sampler runs on the event loop, as it does in Downlink between requests.
    await setImmediate();
  }
}
// Observer entries arrive after the collection: let the last ones in.
await new Promise((r) => setTimeout(r, 50));
const percentAtEnd = control.percent();
// What is live at the end, the ring itself: a full collection leaves only it (--expose-gc).
(globalThis as unknown as { gc(): void }).gc();
const mib = (b: number) => Math.round(b / MiB);
const liveOldMiB = mib(old().space_used_size);
console.log(JSON.stringify({
  largestOldMiB: mib(largest),
  liveOldMiB,
  fullCollections,
  percentAtEnd,
  slots: ring.length,
}));
control.stop();
