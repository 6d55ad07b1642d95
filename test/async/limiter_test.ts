// The limiter: a free slot is taken at once and without a promise, the rest wait in arrival
// order, and a released slot goes to the first in line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLimiter } from "../../src/async/limiter.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));

test("slots up to the limit are taken at once, without a promise", () => {
  const limiter = createLimiter(2);
  assert.equal(limiter.acquire(), undefined);
  assert.equal(limiter.acquire(), undefined);
  assert.equal(limiter.active, 2);
  assert.ok(limiter.acquire() instanceof Promise, "the third waits");
  assert.equal(limiter.waiting, 1);
});

test("a released slot goes to the first waiting caller, in arrival order", async () => {
  const limiter = createLimiter(1);
  limiter.acquire();
  const got: string[] = [];
  for (const name of ["a", "b", "c"]) limiter.acquire()!.then(() => got.push(name));
  await settle();
  assert.deepEqual(got, []);
  limiter.release();
  await settle();
  assert.deepEqual(got, ["a"]);
  assert.equal(limiter.active, 1, "the slot was handed over, not given back");
  limiter.release();
  limiter.release();
  await settle();
  assert.deepEqual(got, ["a", "b", "c"]);
  limiter.release();
  assert.equal(limiter.active, 0);
  assert.equal(limiter.waiting, 0);
});

test("a long line is served in order across compaction of its queue", async () => {
  const limiter = createLimiter(1);
  limiter.acquire();
  const got: number[] = [];
  const n = 5_000;
  for (let i = 0; i < n; i++) limiter.acquire()!.then(() => got.push(i));
  for (let i = 0; i < n; i++) {
    limiter.release();
    // A new arrival mid-way joins the end of the line.
    if (i === 2_000) limiter.acquire()!.then(() => got.push(n));
  }
  limiter.release();
  await settle();
  assert.equal(got.length, n + 1);
  assert.deepEqual(got, [...Array(n + 1).keys()]);
  assert.equal(limiter.waiting, 0);
  assert.equal(limiter.active, 1);
});
