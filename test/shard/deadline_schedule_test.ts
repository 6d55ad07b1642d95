// The shard's one deadline schedule, driven by a SimulatedClock: due keys fire at their absolute
// deadline, in order, through a single armed timer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createDeadlineSchedule } from "../../src/shard/deadline_schedule.ts";

const T0 = 1_700_000_000_000;

function start() {
  const clock = new SimulatedClock();
  clock.set(T0);
  const fired: Array<[string, number, number]> = [];
  const schedule = createDeadlineSchedule<string>({
    clock,
    onDue: (key, at) => fired.push([key, at, clock.now()]),
  });
  const timers = () => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
  return { clock, fired, schedule, timers };
}

test("a key fires at its absolute deadline, not before", () => {
  const { clock, fired, schedule } = start();
  schedule.set("a", T0 + 1_000);
  clock.increment(999);
  assert.deepEqual(fired, []);
  clock.increment(1);
  assert.deepEqual(fired, [["a", T0 + 1_000, T0 + 1_000]]);
  assert.equal(schedule.size, 0);
});

test("keys fire in deadline order whatever order they were set in", () => {
  const { clock, fired, schedule } = start();
  const at = [5, 1, 4, 2, 3, 9, 7, 8, 6, 0];
  for (const n of at) schedule.set(`k${n}`, T0 + 100 * (n + 1));
  for (let t = 100; t <= 1_000; t += 100) clock.set(T0 + t);
  assert.deepEqual(fired.map(([k]) => k), [...at].sort().map((n) => `k${n}`));
  for (const [, deadline, firedAt] of fired) assert.equal(firedAt, deadline);
});

test("deadlines already past fire on the next timer turn with their original time", () => {
  const { clock, fired, schedule } = start();
  schedule.set("late", T0 - 60_000);
  assert.deepEqual(fired, [], "never from set itself");
  clock.increment(0);
  assert.deepEqual(fired, [["late", T0 - 60_000, T0]]);
});

test("one timer is armed for any number of deadlines", () => {
  const { clock, schedule, timers } = start();
  for (let i = 0; i < 1_000; i++) schedule.set(`k${i}`, T0 + 1_000 + (i * 7919) % 5_000);
  assert.equal(timers(), 1);
  clock.increment(3_000);
  assert.equal(timers(), 1);
  clock.increment(10_000);
  assert.equal(timers(), 0);
  assert.equal(schedule.size, 0);
});

test("a deleted key does not fire, and the others still do", () => {
  const { clock, fired, schedule } = start();
  schedule.set("a", T0 + 100);
  schedule.set("b", T0 + 200);
  schedule.set("c", T0 + 300);
  assert.equal(schedule.delete("a"), true);
  assert.equal(schedule.delete("a"), false);
  schedule.delete("c");
  clock.increment(1_000);
  assert.deepEqual(fired.map(([k]) => k), ["b"]);
});

test("setting a key again moves its deadline", () => {
  const { clock, fired, schedule } = start();
  schedule.set("a", T0 + 100);
  schedule.set("b", T0 + 200);
  schedule.set("a", T0 + 300);
  clock.increment(200);
  assert.deepEqual(fired.map(([k]) => k), ["b"]);
  schedule.set("a", T0 + 250);
  clock.increment(50);
  assert.deepEqual(fired.map(([k, at]) => [k, at]), [["b", T0 + 200], ["a", T0 + 250]]);
});

test("keys set from onDue are scheduled too", () => {
  const clock = new SimulatedClock();
  clock.set(T0);
  const fired: string[] = [];
  const schedule = createDeadlineSchedule<string>({
    clock,
    onDue: (key) => {
      fired.push(key);
      if (key === "first") schedule.set("second", T0 + 500);
    },
  });
  schedule.set("first", T0 + 100);
  clock.increment(100);
  clock.increment(400);
  assert.deepEqual(fired, ["first", "second"]);
});

test("clear drops every deadline and the timer", () => {
  const { clock, fired, schedule, timers } = start();
  schedule.set("a", T0 + 100);
  schedule.clear();
  assert.equal(timers(), 0);
  clock.increment(1_000);
  assert.deepEqual(fired, []);
});
