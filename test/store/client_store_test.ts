// Device grant patterns and the API's short client cache (pure; the Postgres side is covered
// through the CLI tests).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ClientCredentials,
  DEVICE_PATTERN,
  deviceGranted,
  newSecret,
} from "../../src/store/client_store.ts";
import { createCachedClientLookup } from "../../src/http/auth.ts";
import { manualClock } from "../support/api_fixtures.ts";

test("a grant matches its exact device, or every device with the prefix before a trailing *", () => {
  assert.equal(deviceGranted(["dock-1"], "dock-1"), true);
  assert.equal(deviceGranted(["dock-1"], "dock-10"), false);
  assert.equal(deviceGranted(["dock-*"], "dock-10"), true);
  assert.equal(deviceGranted(["dock-*"], "dock"), false);
  assert.equal(deviceGranted(["*"], "anything"), true);
  assert.equal(deviceGranted([], "dock-1"), false);
});

test("device patterns allow * only at the end", () => {
  assert.ok(DEVICE_PATTERN.test("rc-*"));
  assert.ok(DEVICE_PATTERN.test("*"));
  assert.ok(!DEVICE_PATTERN.test("*-rc"));
  assert.ok(!DEVICE_PATTERN.test("a*b"));
  assert.ok(!DEVICE_PATTERN.test("a/b"));
});

test("the client cache serves repeated lookups from memory until its TTL passes", async () => {
  const clock = manualClock(0);
  let calls = 0;
  const client = { client_id: "ak_1", status: "ACTIVE" } as ClientCredentials;
  const lookup = createCachedClientLookup({
    findCredentials: () => {
      calls++;
      return Promise.resolve(client);
    },
  }, { clock, ttlMs: 2_000 });
  await Promise.all([lookup.find("ak_1"), lookup.find("ak_1")]);
  clock.advance(1_999);
  await lookup.find("ak_1");
  assert.equal(calls, 1);
  clock.advance(1);
  await lookup.find("ak_1");
  assert.equal(calls, 2);
});

test("a failed client lookup is not cached", async () => {
  const clock = manualClock(0);
  let fail = true;
  const lookup = createCachedClientLookup({
    findCredentials: () => fail ? Promise.reject(new Error("db down")) : Promise.resolve(undefined),
  }, { clock });
  await assert.rejects(lookup.find("ak_1"), /db down/);
  fail = false;
  assert.equal(await lookup.find("ak_1"), undefined);
});

test("a new secret never starts with '-', so a command line never takes it for an option", () => {
  for (let i = 0; i < 1_000; i++) assert.match(newSecret(), /^[A-Za-z0-9_]/);
});
