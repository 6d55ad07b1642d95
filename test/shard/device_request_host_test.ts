// The shard's device request host with an in-memory store that answers as the table does (one
// conditional update decides), a simulated clock, and the bridge's hand-over recorded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { SimulatedClock } from "xstate";
import { createDeviceRequestHost } from "../../src/shard/device_request_host.ts";
import type { AnswerOutcome, DeviceRequestStore } from "../../src/store/device_request_store.ts";
import type { EventOutbox, OutboxEvent } from "../../src/store/event_outbox.ts";
import {
  deviceRequestEvent,
  type DeviceRequestRecord,
  newDeviceRequest,
  storedDeviceRequestEvent,
} from "../../src/device/device_request.ts";
import type { RequestFact } from "../../src/bus/messages.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { vendor, vendors } from "../../src/composition_root.ts";
import { vendorRegistry } from "../../src/vendors/vendor_registry.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";

const START = 1_800_000_000_000;
const GRACE_MS = 5_000;
const EXPIRY_MS = 60_000;
const TIMING = { graceMs: GRACE_MS, expiryMs: EXPIRY_MS };

function memoryStore() {
  const rows = new Map<string, DeviceRequestRecord & { sent_at?: number }>();
  const events: OutboxEvent[] = [];
  /** Event ids deleted from the outbox (published). */
  const removed = new Set<string>();
  const store: DeviceRequestStore = {
    record(r, event) {
      const existing = rows.get(r.request_id);
      if (existing) {
        const eventPending = !removed.has(event.event_id);
        return Promise.resolve({ inserted: false, existing: { ...existing }, eventPending });
      }
      rows.set(r.request_id, { ...r });
      events.push(event);
      return Promise.resolve({ inserted: true });
    },
    answer(id, answer, by, now): Promise<AnswerOutcome> {
      const r = rows.get(id);
      if (!r) return Promise.resolve({ outcome: "not_found" });
      if (r.status === "PENDING" && r.expires_at > now) {
        Object.assign(r, { status: "ANSWERED", answer, answered_at: now, answered_by: by.by });
        if (by.client_id) r.client_id = by.client_id;
        return Promise.resolve({ outcome: "answered", record: { ...r } });
      }
      if (r.status === "PENDING") Object.assign(r, { status: "EXPIRED", expired_at: r.expires_at });
      return Promise.resolve(
        r.status === "EXPIRED"
          ? { outcome: "expired", record: { ...r } }
          : { outcome: "already_answered", record: { ...r } },
      );
    },
    expireDue(partitions, now) {
      const ids: string[] = [];
      for (const r of rows.values()) {
        if (partitions.includes(r.partition) && r.status === "PENDING" && r.expires_at <= now) {
          Object.assign(r, { status: "EXPIRED", expired_at: r.expires_at });
          ids.push(r.request_id);
        }
      }
      return Promise.resolve(ids);
    },
    dueAutoAnswers(partitions, now) {
      return Promise.resolve(
        [...rows.values()].filter((r) =>
          partitions.includes(r.partition) && r.status === "PENDING" &&
          r.auto_answer_at !== undefined && r.auto_answer_at <= now
        ).map((r) => ({
          request_id: r.request_id,
          method: r.method,
          ...(r.vendor ? { vendor: r.vendor } : {}),
        })),
      );
    },
    unsentAnswers(partitions, before) {
      return Promise.resolve(
        [...rows.values()].filter((r) =>
          partitions.includes(r.partition) && r.status === "ANSWERED" &&
          r.sent_at === undefined && r.answered_at! <= before
        ).map((r) => ({ ...r })),
      );
    },
    markSent(id, at) {
      const r = rows.get(id);
      if (r && r.sent_at === undefined) r.sent_at = at;
      return Promise.resolve();
    },
    pending(partition) {
      return Promise.resolve(
        [...rows.values()].filter((r) => r.partition === partition && r.status === "PENDING")
          .map((r) => ({
            request_id: r.request_id,
            ...(r.auto_answer_at !== undefined ? { auto_answer_at: r.auto_answer_at } : {}),
            expires_at: r.expires_at,
          })),
      );
    },
  };
  return { store, rows, events, removed };
}

function setup(mem = memoryStore(), served = vendors) {
  const clock = new SimulatedClock();
  clock.set(START);
  const published: string[] = [];
  const removed: string[] = [];
  const sent: Array<{ tid: string; answer: unknown; again?: string; vendor?: string }> = [];
  const outbox: EventOutbox = {
    pending: () => Promise.resolve([]),
    remove: (ids) => {
      removed.push(...ids);
      for (const id of ids) mem.removed.add(id);
      return Promise.resolve();
    },
  };
  const host = createDeviceRequestHost({
    store: mem.store,
    vendors: served,
    outbox,
    events: {
      publish: (e) => {
        published.push(e.subject);
        return Promise.resolve();
      },
    },
    replies: {
      send: (r, again) => {
        sent.push({
          tid: r.tid,
          answer: r.answer,
          ...(again ? { again } : {}),
          ...(r.vendor !== "dji" ? { vendor: r.vendor } : {}),
        });
        return Promise.resolve();
      },
    },
    partitionOf: () => 0,
    timing: { graceMs: GRACE_MS, expiryMs: EXPIRY_MS },
    clock,
    log: createLogger("silent"),
  });
  return {
    clock,
    host,
    published,
    removed,
    sent,
    rows: mem.rows,
    events: mem.events,
    store: mem.store,
  };
}

/** Lets the host's promise chains run (no time passes). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

const fact = (method: string, tid: string, at = START): RequestFact => ({
  kind: "request",
  vendor: "dji",
  gateway: "DOCK",
  received_at: at,
  request: { tid, method, data: null },
});

test("a request is recorded once with its event, which is published and then forgotten", async () => {
  const { host, rows, events, published, removed } = setup();
  await host.restore(0);
  await host.take(fact("storage_config_get", "t1"));
  await settle();
  assert.deepEqual(published, ["downlink.device.DOCK.request"]);
  assert.deepEqual(removed, [events[0].event_id]);
  // The dock sends it again: the same request, no second event.
  await host.take(fact("storage_config_get", "t1", START + 1_000));
  await settle();
  assert.equal(rows.size, 1);
  assert.deepEqual(events.map((e) => e.subject), ["downlink.device.DOCK.request"]);
  assert.deepEqual(published, ["downlink.device.DOCK.request"]);
  await host.stop();
});

test("a copy of a request whose event was committed and not published publishes it", async () => {
  const mem = memoryStore();
  // An earlier take committed the row and its event, then died before publishing it.
  await mem.store.record(
    { ...newDeviceRequest(fact("storage_config_get", "t1"), 0, TIMING, vendor) },
    {
      ...storedDeviceRequestEvent(
        deviceRequestEvent(
          newDeviceRequest(fact("storage_config_get", "t1"), 0, TIMING, vendor),
        ),
      ),
      partition: 0,
    },
  );
  const { host, published } = setup(mem);
  await host.take(fact("storage_config_get", "t1"));
  await settle();
  assert.deepEqual(published, ["downlink.device.DOCK.request"]);
  await host.take(fact("storage_config_get", "t1", START + 1));
  await settle();
  assert.deepEqual(published, ["downlink.device.DOCK.request"], "published once");
  await host.stop();
});

test("flight_areas_get unanswered is answered by Downlink at the grace, not before", async () => {
  const { clock, host, rows, sent } = setup();
  await host.restore(0);
  await host.take(fact("flight_areas_get", "t1"));
  clock.increment(GRACE_MS - 1);
  await settle();
  assert.deepEqual(sent, []);
  clock.increment(1);
  await settle();
  assert.deepEqual(sent, [{ tid: "t1", answer: { result: 0, output: { files: [] } } }]);
  const row = [...rows.values()][0];
  assert.equal(row.status, "ANSWERED");
  assert.equal(row.answered_by, "downlink");
  assert.equal(row.sent_at, START + GRACE_MS);
  await host.stop();
});

test("a client's answer before the grace wins: Downlink sends nothing of its own", async () => {
  const { clock, host, store, sent, rows } = setup();
  await host.restore(0);
  await host.take(fact("offline_map_get", "t1"));
  const id = [...rows.keys()][0];
  // The client's answer lands between the sweep's read of what is due and its own answer: the
  // conditional update is the one that decides.
  const due = store.dueAutoAnswers.bind(store);
  store.dueAutoAnswers = async (partitions, now) => {
    const found = await due(partitions, now);
    const outcome = await store.answer(id, { result: 7 }, { by: "client", client_id: "c" }, now);
    assert.equal(outcome.outcome, "answered");
    // The API hands a client's answer over itself, and notes it.
    await store.markSent(id, now);
    return found;
  };
  clock.increment(GRACE_MS);
  await settle();
  assert.deepEqual(sent, []);
  assert.equal(rows.get(id)!.answered_by, "client");
  assert.deepEqual(rows.get(id)!.answer, { result: 7 });
  await host.stop();
});

test("a request no one answers expires at its expiry; storage_config_get is never auto-answered", async () => {
  const { clock, host, rows, sent } = setup();
  await host.restore(0);
  await host.take(fact("storage_config_get", "t1"));
  clock.increment(EXPIRY_MS - 1);
  await settle();
  assert.equal([...rows.values()][0].status, "PENDING");
  clock.increment(1);
  await settle();
  const row = [...rows.values()][0];
  assert.equal(row.status, "EXPIRED");
  assert.equal(row.expired_at, START + EXPIRY_MS);
  assert.deepEqual(sent, []);
  await host.stop();
});

test("a request sent again after it was answered is answered again, under another message id", async () => {
  const { clock, host, sent } = setup();
  await host.restore(0);
  await host.take(fact("flight_areas_get", "t1"));
  clock.increment(GRACE_MS);
  await settle();
  assert.equal(sent.length, 1);
  await host.take(fact("flight_areas_get", "t1", START + 20_000));
  assert.deepEqual(sent.map((s) => s.again), [undefined, String(START + 20_000)]);
  await host.stop();
});

test("after a restart the table drives it: a due auto-answer, an expiry, an answer not handed over", async () => {
  const mem = memoryStore();
  const before = setup(mem);
  await before.host.take(fact("flight_areas_get", "auto"));
  await before.host.take(fact("storage_config_get", "expires"));
  await before.host.take(fact("storage_config_get", "client"));
  const clientId = [...mem.rows.values()].find((r) => r.tid === "client")!.request_id;
  // A client answered; its API process died before handing the answer to the bridge.
  await mem.store.answer(clientId, { result: 0, output: { bucket: "b" } }, { by: "client" }, START);
  await before.host.stop();

  // A new owner, well past every time: nothing was scheduled in its memory.
  const after = setup(mem);
  after.clock.set(START + EXPIRY_MS + 1);
  await after.host.restore(0);
  await settle();
  const byTid = new Map([...mem.rows.values()].map((r) => [r.tid, r]));
  // The auto-answer came due before the expiry, but the request is past its expiry now: a dock
  // that waited this long gave up, so it expires instead of being answered late.
  assert.equal(byTid.get("auto")!.status, "EXPIRED");
  assert.equal(byTid.get("expires")!.status, "EXPIRED");
  assert.deepEqual(after.sent, [{ tid: "client", answer: { result: 0, output: { bucket: "b" } } }]);
  assert.ok(byTid.get("client")!.sent_at !== undefined);
  await after.host.stop();
});

test("a restored pending request is scheduled from the table", async () => {
  const mem = memoryStore();
  const before = setup(mem);
  await before.host.take(fact("flight_areas_get", "t1"));
  await before.host.stop();
  const after = setup(mem);
  after.clock.set(START + 1_000);
  await after.host.restore(0);
  await settle();
  assert.equal(after.sent.length, 0);
  after.clock.increment(GRACE_MS - 1_000);
  await settle();
  assert.deepEqual(after.sent.map((s) => s.tid), ["t1"]);
  await after.host.stop();
});

test("a partition given up is not swept: its next owner does it", async () => {
  const { clock, host, rows, sent } = setup();
  await host.restore(0);
  await host.take(fact("flight_areas_get", "t1"));
  await host.take(fact("storage_config_get", "t2"));
  host.drop(0);
  clock.increment(EXPIRY_MS);
  await settle();
  assert.deepEqual([...rows.values()].map((r) => r.status), ["PENDING", "PENDING"]);
  assert.deepEqual(sent, []);
  await host.stop();
});

test("a due answer is the request's vendor's, and names that vendor for the bridge's wire", async () => {
  // A second vendor that answers flight_areas_get its own way.
  const acme = {
    ...acmeAdapter,
    autoAnswerOf: (method: string) => method === "flight_areas_get" ? { result: 7 } : undefined,
    autoAnsweredMethods: ["flight_areas_get"],
  };
  const { clock, host, sent, rows } = setup(memoryStore(), vendorRegistry([vendor, acme]));
  await host.restore(0);
  await host.take({ ...fact("flight_areas_get", "t1"), vendor: "acme" });
  await host.take(fact("flight_areas_get", "t2"));
  clock.increment(GRACE_MS);
  await settle();
  assert.deepEqual(sent.sort((a, b) => a.tid.localeCompare(b.tid)), [
    { tid: "t1", answer: { result: 7 }, vendor: "acme" },
    { tid: "t2", answer: { result: 0, output: { files: [] } } },
  ]);
  assert.deepEqual([...rows.values()].map((r) => r.vendor).sort(), ["acme", "dji"]);
  await host.stop();
});
