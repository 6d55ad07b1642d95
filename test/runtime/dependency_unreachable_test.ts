// reachDependency on a simulated clock: retries 200 ms more each time up to 1 s, one log line per
// retry, and gives up with an error naming the service once the next wait would pass the budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import {
  DependencyUnreachableError,
  reachDependency,
} from "../../src/runtime/dependency_unreachable.ts";
import { createLogger } from "../../src/runtime/log.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));
const POSTGRES = {
  service: "PostgreSQL",
  url: "postgres://u:secret@127.0.0.1:1/x",
  variable: "DATABASE_URL",
};

/** Runs reachDependency against an attempt that fails `failures` times, moving the clock in
 * 100 ms steps; returns when each attempt was made, the log lines and the outcome. */
async function reach(failures: number) {
  const clock = new SimulatedClock();
  const tries: number[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger("warn", {}, (line) => lines.push(JSON.parse(line)));
  let outcome: unknown;
  reachDependency(POSTGRES, log, () => {
    tries.push(clock.now());
    return tries.length <= failures
      ? Promise.reject(Object.assign(new Error("connect failed"), { code: "ECONNREFUSED" }))
      : Promise.resolve("up");
  }, { clock }).then((v) => outcome = v, (err) => outcome = err);
  await settle();
  for (let t = 0; t < 10_000 && outcome === undefined; t += 100) {
    clock.increment(100);
    await settle();
  }
  return { tries, lines, outcome };
}

test("a dependency that answers late is retried 200, 400, … 1,000 ms apart", async () => {
  const { tries, lines, outcome } = await reach(6);
  assert.equal(outcome, "up");
  assert.deepEqual(tries, [0, 200, 600, 1_200, 2_000, 3_000, 4_000]);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.attempt, l.err, l.address]),
    [
      1,
      2,
      3,
      4,
      5,
      6,
    ].map((n) => [
      "PostgreSQL is not reachable yet, retrying",
      n,
      "connection refused",
      "postgres://***@127.0.0.1:1/x",
    ]),
  );
});

test("a dependency still unreachable when the 5 s budget is spent stops start-up naming it", async () => {
  const { tries, lines, outcome } = await reach(Infinity);
  assert.deepEqual(tries, [0, 200, 600, 1_200, 2_000, 3_000, 4_000, 5_000]);
  assert.equal(lines.length, 7);
  assert.ok(outcome instanceof DependencyUnreachableError);
  assert.equal(
    outcome.message,
    "cannot reach PostgreSQL at postgres://***@127.0.0.1:1/x (DATABASE_URL): connection refused",
  );
  assert.equal((outcome.cause as { code?: string }).code, "ECONNREFUSED");
});
