// A child process for process_memory_test: keeps about 40 MiB of objects alive while replacing
// them at random (so the replaced ones die old, in the old generation, like a command that
// lived for a few seconds), and prints the largest old generation it saw, in MiB, with the live
// objects a full collection leaves at the end.
import process from "node:process";
import v8 from "node:v8";
import { limitHeapGrowth } from "../../src/process_memory.ts";

limitHeapGrowth(Number(process.argv[2]));
const slots = 80_000;
const ring: { id: number; text: string; tags: string[] }[] = new Array(slots);
let seed = 1;
// xorshift32: the same sequence in every run, so both settings churn alike.
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!;
let largest = 0;
for (let i = 0; i < 1_500_000; i++) {
  ring[Math.floor(random() * slots)] = {
    id: i,
    text: `command-${i}-`.padEnd(96, "x"),
    tags: [`t${i}`],
  };
  if (i % 20_000 === 0) largest = Math.max(largest, old().space_size);
}
// What is live at the end, the ring itself: a full collection leaves only it (--expose-gc).
(globalThis as unknown as { gc(): void }).gc();
const mib = (b: number) => Math.round(b / 1048576);
const liveOldMiB = mib(old().space_used_size);
console.log(JSON.stringify({ largestOldMiB: mib(largest), liveOldMiB, slots: ring.length }));
