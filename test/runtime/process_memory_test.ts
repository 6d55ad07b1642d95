// The process memory gauges: resident memory and V8's heap figures as Prometheus gauges, read
// live from the running process at each scrape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMetricsRegistry } from "../../src/runtime/metrics.ts";
import { registerProcessMemory } from "../../src/runtime/process_memory.ts";

function gauge(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name} (\\d+)$`, "m"));
  assert.ok(m, `${name} is missing from:\n${text}`);
  assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, "m"));
  return Number(m[1]);
}

test("process memory is rendered as gauges of resident memory, heap and buffers", () => {
  const registry = createMetricsRegistry();
  registerProcessMemory(registry);
  const text = registry.render();

  const rss = gauge(text, "process_resident_memory_bytes");
  const heapTotal = gauge(text, "downlink_heap_total_bytes");
  const heapUsed = gauge(text, "downlink_heap_used_bytes");
  const external = gauge(text, "downlink_external_bytes");
  const arrayBuffers = gauge(text, "downlink_array_buffers_bytes");
  assert.ok(heapUsed > 0 && heapUsed <= heapTotal, `heap used ${heapUsed} of ${heapTotal}`);
  assert.ok(rss >= heapUsed, `rss ${rss} below heap used ${heapUsed}`);
  assert.ok(arrayBuffers <= external, `array buffers ${arrayBuffers} above external ${external}`);
});

test("the gauges follow the heap between scrapes", () => {
  const registry = createMetricsRegistry();
  registerProcessMemory(registry);
  const before = gauge(registry.render(), "downlink_external_bytes");
  const held = new ArrayBuffer(64 * 2 ** 20);
  const after = gauge(registry.render(), "downlink_external_bytes");
  assert.ok(after - before >= held.byteLength, `external ${before} -> ${after}`);
});
