// The device_requests table against real Postgres: a request recorded once with its event, one
// answer whoever races for it (the conditional update), expiry, and what a shard's sweep reads.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import type { Sql } from "../../src/store/db.ts";
import {
  createDeviceRequestStore,
  type DeviceRequestStore,
} from "../../src/store/device_request_store.ts";
import {
  deviceRequestEvent,
  newDeviceRequest,
  storedDeviceRequestEvent,
} from "../../src/device/device_request.ts";
import { testEnv } from "../support/test_env.ts";
import { openStorage, vendor } from "../../src/composition_root.ts";

const config = loadConfig(testEnv());
let sql: Sql;
let store: DeviceRequestStore;
const NOW = Date.parse("2026-12-01T12:00:00Z");

before(async () => {
  ({ sql } = await openStorage(config, { poolSize: 8 }));
  store = createDeviceRequestStore(sql);
});
after(async () => {
  await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
  await sql.end({ timeout: 1 });
});

async function arrange(method: string, partition = 1, at = NOW) {
  const r = newDeviceRequest(
    {
      kind: "request",
      vendor: "dji",
      gateway: `DOCK-${crypto.randomUUID().slice(0, 8)}`,
      received_at: at,
      request: { tid: crypto.randomUUID(), method, data: { module: 0, text: "nul \u0000 ok" } },
    },
    partition,
    { graceMs: 5_000, expiryMs: 60_000 },
    vendor,
  );
  const event = { ...storedDeviceRequestEvent(deviceRequestEvent(r)), partition };
  return { r, event, outcome: await store.record(r, event) };
}

test("a request is recorded once with its event; a copy finds the row and whether its event is out", async () => {
  const { r, event, outcome } = await arrange("storage_config_get");
  assert.deepEqual(outcome, { inserted: true });
  const copy = await store.record(r, event);
  assert.equal(copy.inserted, false);
  if (!copy.inserted) {
    assert.equal(copy.existing.status, "PENDING");
    assert.equal(copy.existing.vendor, "dji", "the vendor whose topic it came on");
    assert.deepEqual(copy.existing.data, { module: 0, text: "nul \u0000 ok" }, "kept as sent");
    assert.equal(copy.eventPending, true);
  }
  await sql`delete from event_outbox where event_id = ${event.event_id}`;
  const later = await store.record(r, event);
  assert.equal(!later.inserted && later.eventPending, false);
  const [{ n }] = await sql`select count(*)::int as n from device_requests
    where request_id = ${r.request_id}`;
  assert.equal(n, 1);
});

test("clients and Downlink answering at once: exactly one answer wins", async () => {
  const { r } = await arrange("flight_areas_get");
  const outcomes = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      store.answer(
        r.request_id,
        { result: i },
        i % 2 ? { by: "client", client_id: `c${i}` } : { by: "downlink" },
        NOW + 1_000,
      )),
  );
  const won = outcomes.filter((o) => o.outcome === "answered");
  assert.equal(won.length, 1);
  assert.equal(outcomes.filter((o) => o.outcome === "already_answered").length, 11);
  const [row] = await sql`select status, answer, answered_by from device_requests
    where request_id = ${r.request_id}`;
  assert.equal(row.status, "ANSWERED");
  assert.deepEqual(JSON.parse(row.answer), won[0].outcome === "answered" && won[0].record.answer);
});

test("past its expiry a request is expired, not answered; the sweep's reads go by partition", async () => {
  const late = await arrange("storage_config_get", 2);
  const outcome = await store.answer(
    late.r.request_id,
    { result: 0 },
    { by: "client" },
    NOW + 60_000,
  );
  assert.equal(outcome.outcome, "expired");
  if (outcome.outcome === "expired") assert.equal(outcome.record.expired_at, NOW + 60_000);

  const auto = await arrange("flight_areas_get", 3);
  const waits = await arrange("storage_config_get", 3);
  assert.deepEqual(await store.dueAutoAnswers([3], NOW + 4_999), []);
  assert.deepEqual(await store.dueAutoAnswers([4], NOW + 5_000), []);
  assert.deepEqual(await store.dueAutoAnswers([3], NOW + 5_000), [
    { request_id: auto.r.request_id, method: "flight_areas_get", vendor: "dji" },
  ]);
  assert.deepEqual(
    (await store.pending(3)).map((p) => p.request_id).sort(),
    [auto.r.request_id, waits.r.request_id].sort(),
  );
  const answered = await store.answer(
    auto.r.request_id,
    { result: 0 },
    { by: "downlink" },
    NOW + 5_000,
  );
  assert.equal(answered.outcome, "answered");
  assert.deepEqual(await store.unsentAnswers([3], NOW + 4_999), []);
  assert.deepEqual(
    (await store.unsentAnswers([3], NOW + 5_000)).map((r) => r.request_id),
    [auto.r.request_id],
  );
  await store.markSent(auto.r.request_id, NOW + 5_001);
  assert.deepEqual(await store.unsentAnswers([3], NOW + 10_000), []);
  assert.deepEqual(await store.expireDue([3], NOW + 59_999), []);
  assert.deepEqual(await store.expireDue([3], NOW + 60_000), [waits.r.request_id]);
  assert.deepEqual(await store.pending(3), []);
});
