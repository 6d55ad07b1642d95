// The process's memory as Prometheus gauges: resident memory next to what V8 and Node account
// for, so an operator can tell a growing heap from memory held below it (allocator, buffers).
// How far V8's heap may grow is heap_growth.ts.
import process from "node:process";
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
