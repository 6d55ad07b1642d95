// The process's memory: how far V8's heap may grow, and Prometheus gauges of resident memory
// next to what V8 and Node account for, so an operator can tell a growing heap from memory held
// below it (allocator, buffers).
import process from "node:process";
import v8 from "node:v8";
import type { MetricsRegistry } from "./metrics.ts";

const HELP: Record<string, string> = {
  process_resident_memory_bytes: "Resident memory (RSS) of the process, in bytes.",
  downlink_heap_total_bytes: "Memory V8 has reserved for its JavaScript heap, in bytes.",
  downlink_heap_used_bytes:
    "JavaScript heap in use (live objects and garbage not yet collected), in bytes.",
  downlink_external_bytes:
    "Memory held by C++ objects bound to JavaScript objects (Buffers among them), in bytes.",
  downlink_array_buffers_bytes:
    "Memory held by ArrayBuffers and Buffers, in bytes (part of external; Deno reports 0).",
};

/** The gauges above, read from `process.memoryUsage()` at each scrape (Node and Deno alike). */
export function registerProcessMemory(registry: MetricsRegistry): void {
  registry.gauges(() => {
    const m = process.memoryUsage();
    return {
      process_resident_memory_bytes: m.rss,
      downlink_heap_total_bytes: m.heapTotal,
      downlink_heap_used_bytes: m.heapUsed,
      downlink_external_bytes: m.external,
      downlink_array_buffers_bytes: m.arrayBuffers,
    };
  }, HELP);
}

/** Holds V8's old generation to `percent` above what survived the last full collection. V8's own
 * heuristic lets it grow up to about four times the live objects when allocation is fast: at 200
 * commands/s the old generation swung 42-125 MiB around 35-45 MiB of live objects (RSS 155-260
 * MiB); held to 40 % it stayed at 45 MiB (RSS 155-173 MiB), for more, smaller collections. V8
 * reads the flag at every collection, so setting it after start takes effect; Deno passes it on
 * too. 0 leaves V8's heuristic alone. */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
