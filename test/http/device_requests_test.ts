// The device request endpoints against real Postgres and NATS (an api role alone): requests
// arranged in the table as a shard records them, read within the client's grants, newest first,
// filtered and paged; answered once (the answer handed to the bridge stream), 409 after that or
// after the expiry, and the 400s, 403s and 404s.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { createDeviceRequestStore } from "../../src/store/device_request_store.ts";
import {
  deviceRequestEvent,
  newDeviceRequest,
  storedDeviceRequestEvent,
} from "../../src/device/device_request.ts";
import { partitionOf } from "../../src/command/partition.ts";
import type { RequestReply } from "../../src/bus/messages.ts";
import {
  decodeRequestCursor,
  encodeRequestCursor,
  parseDeviceRequestListQuery,
  parseDeviceRequestReply,
} from "../../src/http/device_requests.ts";
import { ValidationError } from "../../src/http/errors.ts";
import { vendor } from "../../src/composition_root.ts";

let f: ApiFixture;
const run = crypto.randomUUID().slice(0, 8);
const dockA = `dock-a${run}`;
const dockB = `dock-b${run}`;

before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

/** Records a request as the shard does; `ago` ms before now, expiring `expiresIn` ms from now. */
async function arrange(
  gateway: string,
  method: string,
  { ago = 0, expiresIn = 60_000 }: { ago?: number; expiresIn?: number } = {},
) {
  const received_at = Date.now() - ago;
  const r = newDeviceRequest(
    {
      kind: "request",
      vendor: "dji",
      gateway,
      received_at,
      request: { tid: crypto.randomUUID(), bid: "b", method, data: { module: 0 } },
    },
    partitionOf(gateway, f.config.partitions),
    { graceMs: 5_000, expiryMs: ago + expiresIn },
    vendor,
  );
  const outcome = await createDeviceRequestStore(f.sql).record(r, {
    ...storedDeviceRequestEvent(deviceRequestEvent(r)),
    partition: r.partition,
  });
  assert.ok(outcome.inserted);
  return r;
}

/** The answers the API handed to the bridge stream for `gateway` (taken off it). A work queue
 * stream takes only consumers that ack explicitly. */
async function handedOver(gateway: string): Promise<RequestReply[]> {
  const jsm = await jetstreamManager(f.nc);
  const name = `t_${crypto.randomUUID().slice(0, 8)}`;
  await jsm.consumers.add(f.names.bridgeStream, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    filter_subject: f.names.bridgeSubject(partitionOf(gateway, f.config.partitions), gateway),
  });
  const out: RequestReply[] = [];
  try {
    const consumer = await jetstream(f.nc).consumers.get(f.names.bridgeStream, name);
    const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
    for await (const m of batch) {
      out.push(m.json<RequestReply>());
      m.ack();
      if (m.info.pending === 0) break;
    }
  } finally {
    await jsm.consumers.delete(f.names.bridgeStream, name).catch(() => {});
  }
  return out;
}

describe("GET /api/v1/open/downlink/device-requests", () => {
  test("lists the granted devices' requests, newest first, filtered and paged", async () => {
    const caller = await f.createClient({ devices: [`dock-a${run}*`] });
    const old = await arrange(dockA, "storage_config_get", { ago: 3_000 });
    const mid = await arrange(dockA, "flight_areas_get", { ago: 2_000 });
    const recent = await arrange(dockA, "storage_config_get", { ago: 1_000 });
    await arrange(dockB, "storage_config_get");

    const all = await caller.http.listDeviceRequests();
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.items.map((i) => i.request_id), [
      recent.request_id,
      mid.request_id,
      old.request_id,
    ]);
    assert.equal(all.body.items[0].status, "PENDING");
    assert.equal(all.body.items[0].device_id, dockA);
    assert.deepEqual(all.body.items[0].data, { module: 0 });
    assert.equal(all.body.next_cursor, undefined);

    const byMethod = await caller.http.listDeviceRequests({ method: "flight_areas_get" });
    assert.deepEqual(byMethod.body.items.map((i) => i.request_id), [mid.request_id]);
    assert.ok(byMethod.body.items[0].auto_answer_at);
    const byDevice = await caller.http.listDeviceRequests({ device_id: dockB });
    assert.deepEqual(byDevice.body.items, [], "a device not granted lists nothing");

    const first = await caller.http.listDeviceRequests({ limit: 2 });
    assert.deepEqual(first.body.items.map((i) => i.request_id), [
      recent.request_id,
      mid.request_id,
    ]);
    const second = await caller.http.listDeviceRequests({
      limit: 2,
      cursor: first.body.next_cursor!,
    });
    assert.deepEqual(second.body.items.map((i) => i.request_id), [old.request_id]);
    assert.equal(second.body.next_cursor, undefined);

    const answered = await caller.http.replyToDeviceRequest(mid.request_id, { result: 0 });
    assert.equal(answered.status, 200);
    const byStatus = await caller.http.listDeviceRequests({ status: "ANSWERED,EXPIRED" });
    assert.deepEqual(byStatus.body.items.map((i) => i.request_id), [mid.request_id]);
  });

  test("a bad filter is 400 naming each parameter; a client without the scope is 403", async () => {
    const caller = await f.createClient();
    const bad = await caller.http.listDeviceRequests({
      status: "DONE",
      method: "a b",
      cursor: "x",
      colour: "red",
    } as never);
    assert.equal(bad.status, 400);
    assert.equal((bad.body as any).code, "VALIDATION_FAILED");
    assert.deepEqual((bad.body as any).details.map((d: any) => d.path).sort(), [
      "query.colour",
      "query.cursor",
      "query.method",
      "query.status",
    ]);
    const reader = await f.createClient({ scopes: ["open:device:read"] });
    const refused = await reader.http.listDeviceRequests();
    assert.equal(refused.status, 403);
  });
});

describe("GET /api/v1/open/downlink/device-requests/{request_id}", () => {
  test("one request; unknown, not granted and malformed ids", async () => {
    const caller = await f.createClient({ devices: [dockA] });
    const r = await arrange(dockA, "storage_config_get");
    const other = await arrange(dockB, "storage_config_get");
    const got = await caller.http.getDeviceRequest(r.request_id);
    assert.equal(got.status, 200);
    assert.equal(got.body.request_id, r.request_id);
    assert.equal(got.body.tid, r.tid);
    assert.equal(got.body.method, "storage_config_get");
    for (const id of [other.request_id, crypto.randomUUID()]) {
      const missing = await caller.http.getDeviceRequest(id);
      assert.equal(missing.status, 404);
      assert.equal((missing.body as any).code, "DEVICE_REQUEST_NOT_FOUND");
    }
    const malformed = await caller.http.getDeviceRequest("nope");
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as any).details[0].path, "path.request_id");
  });
});

describe("POST /api/v1/open/downlink/device-requests/{request_id}/reply", () => {
  test("answers once: the answer goes to the bridge stream; a second answer is 409", async () => {
    const caller = await f.createClient({ devices: [dockA] });
    const r = await arrange(dockA, "storage_config_get");
    const output = { bucket: "media", provider: "minio", credentials: { expire: 3600 } };
    const res = await caller.http.replyToDeviceRequest(r.request_id, { result: 0, output });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, "ANSWERED");
    assert.equal(res.body.answered_by, "client");
    assert.equal(res.body.client_id, caller.client_id);
    assert.deepEqual(res.body.answer, { result: 0, output });
    assert.ok(res.body.answered_at);

    const [row] = await f.sql`select reply_sent_at from device_requests
      where request_id = ${r.request_id}`;
    assert.ok(row.reply_sent_at, "the hand-over to the bridge is noted");
    const messages = (await handedOver(dockA)).filter((m) => m.request_id === r.request_id);
    assert.deepEqual(messages, [{
      kind: "request_reply",
      vendor: "dji",
      request_id: r.request_id,
      gateway: dockA,
      tid: r.tid,
      bid: "b",
      method: "storage_config_get",
      answer: { result: 0, output },
    }]);

    const again = await caller.http.replyToDeviceRequest(r.request_id, { result: 1 });
    assert.equal(again.status, 409);
    assert.equal((again.body as any).code, "DEVICE_REQUEST_ANSWERED");
    const kept = await caller.http.getDeviceRequest(r.request_id);
    assert.deepEqual(kept.body.answer, { result: 0, output }, "the first answer stays");
  });

  test("a request past its expiry is 409 EXPIRED and becomes EXPIRED", async () => {
    const caller = await f.createClient({ devices: [dockA] });
    const r = await arrange(dockA, "storage_config_get", { ago: 2_000, expiresIn: -1_000 });
    const res = await caller.http.replyToDeviceRequest(r.request_id, { result: 0 });
    assert.equal(res.status, 409);
    assert.equal((res.body as any).code, "DEVICE_REQUEST_EXPIRED");
    const got = await caller.http.getDeviceRequest(r.request_id);
    assert.equal(got.body.status, "EXPIRED");
    assert.equal(got.body.expired_at, got.body.expires_at);
    assert.equal(got.body.answer, undefined);
  });

  test("a bad answer is 400 with its paths; another device's request 404; no scope 403", async () => {
    const caller = await f.createClient({ devices: [dockA] });
    const r = await arrange(dockA, "storage_config_get");
    const bad = await caller.http.replyToDeviceRequest(
      r.request_id,
      { result: 1.5, output: [1], extra: true } as never,
    );
    assert.equal(bad.status, 400);
    assert.equal((bad.body as any).code, "VALIDATION_FAILED");
    assert.deepEqual((bad.body as any).details.map((d: any) => d.path).sort(), [
      "$.extra",
      "$.output",
      "$.result",
    ]);
    const missing = await caller.http.replyToDeviceRequest(r.request_id, {} as never);
    assert.equal(missing.status, 400);
    assert.deepEqual((missing.body as any).details, [{ path: "$.result", reason: "is required" }]);

    const other = await arrange(dockB, "storage_config_get");
    const notGranted = await caller.http.replyToDeviceRequest(other.request_id, { result: 0 });
    assert.equal(notGranted.status, 404);
    const [row] = await f.sql`select status from device_requests
      where request_id = ${other.request_id}`;
    assert.equal(row.status, "PENDING");

    const reader = await f.createClient({
      devices: [dockA],
      scopes: ["open:device-request:read"],
    });
    const refused = await reader.http.replyToDeviceRequest(r.request_id, { result: 0 });
    assert.equal(refused.status, 403);
  });
});

describe("parsing", () => {
  test("the cursor round-trips and refuses what this API did not issue", () => {
    const position = {
      receivedAt: "2026-12-01T11:00:00.123456Z",
      requestId: "0b6f8f0e-5d7a-4c61-b1e4-2a9c7d35e6f8",
    };
    assert.deepEqual(decodeRequestCursor(encodeRequestCursor(position)), position);
    assert.equal(decodeRequestCursor("bm9wZQ"), undefined);
  });

  test("statuses are a comma list of the three", () => {
    assert.deepEqual(
      parseDeviceRequestListQuery({ status: ["PENDING,EXPIRED", "PENDING"] }).statuses,
      ["PENDING", "EXPIRED"],
    );
    assert.throws(() => parseDeviceRequestListQuery({ status: ["pending"] }), ValidationError);
  });

  test("an answer is {result: integer, output?: object}", () => {
    assert.deepEqual(parseDeviceRequestReply({ result: 0 }), { result: 0 });
    assert.deepEqual(parseDeviceRequestReply({ result: 314004, output: { a: 1 } }), {
      result: 314004,
      output: { a: 1 },
    });
    for (const body of [null, [], "x", { result: "0" }, { result: 0, output: null }]) {
      assert.throws(() => parseDeviceRequestReply(body), ValidationError, JSON.stringify(body));
    }
  });
});
