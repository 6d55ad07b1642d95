// The event-loop delay sampler, driven by a SimulatedClock: a tick that runs late by some
// milliseconds is a delay of that many, taken as quantiles and a max once per scrape window.
import { assertExitsByItself } from "../support/exits_by_itself.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { registerEventLoopDelay, startEventLoopDelay } from "../../src/runtime/event_loop_delay.ts";
import { createMetricsRegistry } from "../../src/runtime/metrics.ts";

const INTERVAL = 20;

function start(window?: number) {
  const clock = new SimulatedClock();
  clock.set(1_000);
  const sampler = startEventLoopDelay({ intervalMs: INTERVAL, window, clock });
  const timers = () => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
  // The clock moves past the armed tick's due time by `late` ms before the tick runs.
  const tickLate = (late: number) => clock.increment(INTERVAL + late);
  return { clock, sampler, timers, tickLate };
}

test("a timer that runs on time is no delay", () => {
  const { sampler, tickLate } = start();
  for (let i = 0; i < 10; i++) tickLate(0);
  assert.deepEqual(sampler.take(), { p50: 0, p99: 0, max: 0, samples: 10 });
});

test("the delay is how much later than its interval the timer ran", () => {
  const { sampler, tickLate } = start();
  // 0 … 99 ms late, in a scrambled order: the quantiles must not depend on arrival order.
  for (let i = 0; i < 100; i++) tickLate((i * 37) % 100);
  assert.deepEqual(sampler.take(), { p50: 49, p99: 98, max: 99, samples: 100 });
});

test("one stall is one late tick, not a late tick for every interval it covered", () => {
  const { sampler, tickLate } = start();
  tickLate(500);
  tickLate(0);
  tickLate(0);
  assert.deepEqual(sampler.take(), { p50: 0, p99: 500, max: 500, samples: 3 });
});

test("each take starts a new window", () => {
  const { sampler, tickLate } = start();
  tickLate(250);
  assert.equal(sampler.take().max, 250);
  assert.deepEqual(sampler.take(), { p50: 0, p99: 0, max: 0, samples: 0 });
  tickLate(3);
  assert.deepEqual(sampler.take(), { p50: 3, p99: 3, max: 3, samples: 1 });
});

test("quantiles come from the latest `window` delays, the max from every one", () => {
  const { sampler, tickLate } = start(10);
  tickLate(1_000);
  for (let i = 0; i < 20; i++) tickLate(5);
  assert.deepEqual(sampler.take(), { p50: 5, p99: 5, max: 1_000, samples: 21 });
});

test("stop disarms the timer and nothing more is recorded", () => {
  const { sampler, timers, tickLate } = start();
  tickLate(7);
  assert.equal(timers(), 1);
  sampler.stop();
  assert.equal(timers(), 0);
  tickLate(400);
  assert.deepEqual(sampler.take(), { p50: 7, p99: 7, max: 7, samples: 1 });
});

test("a running sampler does not keep the process alive, on Node or on Deno", async () => {
  const script = `import { startEventLoopDelay } from "./src/runtime/event_loop_delay.ts";
    startEventLoopDelay();`;
  await assertExitsByItself(script);
});

test("the gauges are the delays in seconds, and each scrape starts a new window", () => {
  const { sampler, tickLate } = start();
  const registry = createMetricsRegistry();
  registerEventLoopDelay(registry, sampler);
  tickLate(0);
  tickLate(250);

  const text = registry.render();
  for (const q of ["p50", "p99", "max"]) {
    assert.match(text, new RegExp(`^# TYPE downlink_event_loop_delay_${q}_seconds gauge$`, "m"));
  }
  assert.match(text, /^downlink_event_loop_delay_p50_seconds 0$/m);
  assert.match(text, /^downlink_event_loop_delay_p99_seconds 0.25$/m);
  assert.match(text, /^downlink_event_loop_delay_max_seconds 0.25$/m);

  tickLate(0);
  assert.match(registry.render(), /^downlink_event_loop_delay_max_seconds 0$/m);
});
