// retry() on a simulated clock: the waits, the cap, giving up, and continuing after a first
// attempt the caller made itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { constant, exponential, linear, retry, retryAfter } from "../../src/async/retry.ts";
import type { Clock } from "../../src/async/time.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));

/** An operation that fails its first `failures` calls, recording each attempt number. */
function flaky(failures: number) {
  const attempts: number[] = [];
  const fn = (attempt: number) => {
    attempts.push(attempt);
    return attempts.length <= failures
      ? Promise.reject(new Error(`failure ${attempts.length}`))
      : Promise.resolve("done");
  };
  return { fn, attempts };
}

test("backoffs: exponential doubles to its cap, linear steps to its cap, constant stays", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(exponential(100, 2_000)), [
    100,
    200,
    400,
    800,
    1_600,
    2_000,
  ]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(linear(200, 1_000)), [200, 400, 600, 800, 1_000, 1_000]);
  assert.deepEqual([0, 7].map(constant(500)), [500, 500]);
});

test("retry waits each backoff on the clock before the next attempt, then resolves", async () => {
  const clock = new SimulatedClock();
  const { fn, attempts } = flaky(3);
  const result = retry(fn, { clock, backoff: exponential(100, 250) });
  await settle();
  assert.deepEqual(attempts, [0]);
  for (const [wait, seen] of [[100, [0, 1]], [200, [0, 1, 2]], [250, [0, 1, 2, 3]]] as const) {
    clock.increment(wait - 1);
    await settle();
    assert.equal(attempts.length, seen.length - 1, `not before ${wait} ms`);
    clock.increment(1);
    await settle();
    assert.deepEqual(attempts, seen);
  }
  assert.equal(await result, "done");
});

test("giveUp is told every failure before the wait, and giving up throws the last failure", async () => {
  const clock = new SimulatedClock();
  const { fn, attempts } = flaky(10);
  const told: string[] = [];
  const result = retry(fn, {
    clock,
    backoff: constant(500),
    giveUp: (err, attempt) => {
      told.push(`${attempt}: ${(err as Error).message}`);
      return attempt === 2;
    },
  });
  result.catch(() => {});
  await settle();
  clock.increment(500);
  await settle();
  clock.increment(500);
  await settle();
  await assert.rejects(result, /failure 3/);
  assert.deepEqual(attempts, [0, 1, 2]);
  assert.deepEqual(told, ["0: failure 1", "1: failure 2", "2: failure 3"]);
});

test("a caller that gives up at once arms no timer", async () => {
  const clock: Clock = {
    now: () => 0,
    setTimeout: () => assert.fail("no wait when giving up"),
    clearTimeout: () => {},
  };
  await assert.rejects(
    retry(flaky(1).fn, { clock, backoff: constant(500), giveUp: () => true }),
    /failure 1/,
  );
});

test("a backoff of 0 tries again at once, without a timer", async () => {
  const clock: Clock = {
    now: () => 0,
    setTimeout: () => assert.fail("no timer for a 0 ms wait"),
    clearTimeout: () => {},
  };
  const { fn, attempts } = flaky(2);
  assert.equal(await retry(fn, { clock, backoff: constant(0) }), "done");
  assert.deepEqual(attempts, [0, 1, 2]);
});

test("retryAfter continues a caller's failed first attempt: waits backoff(0), then attempt 1", async () => {
  const clock = new SimulatedClock();
  const { fn, attempts } = flaky(0);
  const told: number[] = [];
  const result = retryAfter(new Error("first"), fn, {
    clock,
    backoff: exponential(100, 2_000),
    giveUp: (_, attempt) => {
      told.push(attempt);
      return false;
    },
  });
  await settle();
  assert.deepEqual(attempts, []);
  clock.increment(100);
  assert.equal(await result, "done");
  assert.deepEqual(attempts, [1]);
  assert.deepEqual(told, [0]);
});

test("a throw before the promise is a failure like a rejection, retried the same", async () => {
  const clock = new SimulatedClock();
  let calls = 0;
  const result = retry(() => {
    if (++calls < 3) throw new Error("thrown, not rejected");
    return Promise.resolve("done");
  }, { clock, backoff: constant(10) });
  await settle();
  clock.increment(10);
  await settle();
  clock.increment(10);
  assert.equal(await result, "done");
  assert.equal(calls, 3);
});
