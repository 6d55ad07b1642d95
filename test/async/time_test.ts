// every() on a simulated clock: setInterval for code that takes a Clock, moved by the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { every } from "../../src/async/time.ts";

test("every() runs once per period of the clock until stopped", () => {
  const clock = new SimulatedClock();
  const runs: number[] = [];
  const stop = every(clock, 100, () => runs.push(clock.now()));
  clock.increment(99);
  assert.deepEqual(runs, []);
  clock.increment(1);
  clock.increment(100);
  clock.increment(100);
  assert.deepEqual(runs, [100, 200, 300]);
  stop();
  clock.increment(1_000);
  assert.deepEqual(runs, [100, 200, 300]);
});

test("every() stopped from its own run runs no more", () => {
  const clock = new SimulatedClock();
  let runs = 0;
  const stop = every(clock, 50, () => {
    runs++;
    stop();
  });
  clock.increment(50);
  clock.increment(500);
  assert.equal(runs, 1);
});
