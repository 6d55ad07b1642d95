// Device requests end to end (api, shard, bridge in one process, the machine's Postgres, NATS and
// MQTT): a dock played with mqtt.js sends `requests`; each is recorded once, announced once on
// `downlink.device.{gateway_sn}.request`, listed PENDING over the signed API, answered over it
// (the dock gets exactly one requests_reply echoing tid, bid and method), answered again when the
// dock sends it again; flight_areas_get unanswered is answered by Downlink after the grace; a
// request nobody answers expires, and answering it then is 409.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import mqtt, { type MqttClient } from "mqtt";
import type { Subscription } from "@nats-io/transport-node";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { streamEvents } from "../support/stream_events.ts";
import type { DeviceRequestEvent, DeviceRequestView } from "../../src/device/device_request.ts";

const GRACE_SECONDS = 1;
const EXPIRY_SECONDS = 8;

let f: LifecycleFixture;
let dock: MqttClient;
let sub: Subscription;
const replies: Array<{ topic: string; body: any; at: number }> = [];
const requestEvents: DeviceRequestEvent[] = [];

before(async () => {
  f = await startLifecycleFixture({
    env: {
      DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: String(GRACE_SECONDS),
      DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS: String(EXPIRY_SECONDS),
    },
  });
  dock = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `dock-test-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 5,
  });
  dock.on("message", (topic, payload) => {
    replies.push({ topic, body: JSON.parse(payload.toString()), at: Date.now() });
  });
  sub = f.nc.subscribe("downlink.device.*.request");
  void (async () => {
    for await (const m of sub) requestEvents.push(m.json<DeviceRequestEvent>());
  })();
  await f.nc.flush();
});

after(async () => {
  sub?.unsubscribe();
  await dock?.endAsync();
  await f?.stop();
});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The dock asks: a requests message, QoS 1, as a dock sends it. */
async function ask(sn: string, method: string, data: unknown = null, tid = crypto.randomUUID()) {
  await dock.subscribeAsync(`thing/product/${sn}/requests_reply`, { qos: 1 });
  const body = {
    tid,
    bid: crypto.randomUUID(),
    timestamp: Date.now(),
    gateway: sn,
    method,
    data,
  };
  await dock.publishAsync(`thing/product/${sn}/requests`, JSON.stringify(body), { qos: 1 });
  return { ...body, sentAt: Date.now() };
}

/** The request as the API lists it, once it is there. */
function listed(sn: string, tid: string): Promise<DeviceRequestView> {
  return until("the request in the list", async () => {
    const res = await f.http.listDeviceRequests({ device_id: sn });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items.find((i) => i.tid === tid);
  });
}

const repliesTo = (tid: string) => replies.filter((r) => r.body.tid === tid);

test("a storage_config_get is listed PENDING, answered over the API, and the dock gets exactly one requests_reply", async () => {
  const sn = f.device("storage");
  const sent = await ask(sn, "storage_config_get", { module: 0 });
  const pending = await listed(sn, sent.tid);
  assert.equal(pending.status, "PENDING");
  assert.equal(pending.method, "storage_config_get");
  assert.equal(pending.bid, sent.bid);
  assert.deepEqual(pending.data, { module: 0 });
  assert.equal(pending.auto_answer_at, undefined, "a client must answer this one");
  const event = await until(
    "the device.request event",
    () => requestEvents.find((e) => e.tid === sent.tid),
  );
  assert.equal(event.event_type, "device.request");
  assert.equal(event.request_id, pending.request_id);
  assert.equal(event.gateway_sn, sn);
  assert.deepEqual((await f.http.getDeviceRequest(pending.request_id)).body, pending);

  const output = {
    bucket: "media",
    credentials: { access_key_id: "k", access_key_secret: "s", expire: 3600, security_token: "t" },
    endpoint: "https://minio.example",
    provider: "minio",
    region: "eu",
    object_key_prefix: "dock",
  };
  const answered = await f.http.replyToDeviceRequest(pending.request_id, { result: 0, output });
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  assert.equal(answered.body.status, "ANSWERED");
  assert.equal(answered.body.answered_by, "client");

  const reply = await until("requests_reply", () => repliesTo(sent.tid)[0]);
  assert.equal(reply.topic, `thing/product/${sn}/requests_reply`);
  assert.equal(reply.body.bid, sent.bid);
  assert.equal(reply.body.method, "storage_config_get");
  assert.deepEqual(reply.body.data, { result: 0, output });
  assert.equal(typeof reply.body.timestamp, "number");

  const second = await f.http.replyToDeviceRequest(pending.request_id, { result: 0 });
  assert.equal(second.status, 409);
  assert.equal((second.body as any).code, "DEVICE_REQUEST_ANSWERED");
  await sleep(1_000);
  assert.equal(repliesTo(sent.tid).length, 1, "exactly one requests_reply");
  const stored = await streamEvents(f.nc, `downlink.device.${sn}.request`);
  assert.equal(stored.length, 1, "the request's event is in the stream once");
  assert.equal(requestEvents.filter((e) => e.tid === sent.tid).length, 1);
});

test("a dock that sends an answered request again gets the answer again; it is stored once", async () => {
  const sn = f.device("resends");
  const tid = crypto.randomUUID();
  const sent = await ask(sn, "storage_config_get", { module: 1 }, tid);
  const pending = await listed(sn, tid);
  const res = await f.http.replyToDeviceRequest(pending.request_id, {
    result: 0,
    output: { a: 1 },
  });
  assert.equal(res.status, 200);
  await until("the first requests_reply", () => repliesTo(tid)[0]);
  // The same request (same tid) again, as a dock whose answer was lost sends it.
  await dock.publishAsync(
    `thing/product/${sn}/requests`,
    JSON.stringify({ ...sent, sentAt: undefined, timestamp: Date.now() }),
    { qos: 1 },
  );
  const again = await until("the second requests_reply", () => repliesTo(tid)[1]);
  assert.deepEqual(again.body.data, { result: 0, output: { a: 1 } });
  const all = await f.http.listDeviceRequests({ device_id: sn });
  assert.equal(all.body.items.length, 1);
  await sleep(500);
  assert.equal((await streamEvents(f.nc, `downlink.device.${sn}.request`)).length, 1);
});

test("flight_areas_get unanswered is answered by Downlink after the grace", async () => {
  const sn = f.device("flight-areas");
  const sent = await ask(sn, "flight_areas_get");
  const pending = await listed(sn, sent.tid);
  assert.ok(pending.auto_answer_at);
  const reply = await until("Downlink's requests_reply", () => repliesTo(sent.tid)[0]);
  assert.ok(
    reply.at - sent.sentAt >= GRACE_SECONDS * 1_000 - 100,
    `answered ${reply.at - sent.sentAt} ms after the request, before the grace`,
  );
  assert.equal(reply.body.method, "flight_areas_get");
  assert.equal(reply.body.bid, sent.bid);
  assert.deepEqual(reply.body.data, { result: 0, output: { files: [] } });
  const got = (await f.http.getDeviceRequest(pending.request_id)).body;
  assert.equal(got.status, "ANSWERED");
  assert.equal(got.answered_by, "downlink");
  assert.equal(got.client_id, undefined);
  const late = await f.http.replyToDeviceRequest(pending.request_id, { result: 0 });
  assert.equal(late.status, 409);
  assert.equal((late.body as any).code, "DEVICE_REQUEST_ANSWERED");
  await sleep(500);
  assert.equal(repliesTo(sent.tid).length, 1);
});

test("a request nobody answers expires, and answering it then is 409", async () => {
  const sn = f.device("expires");
  const sent = await ask(sn, "storage_config_get", { module: 0 });
  const pending = await listed(sn, sent.tid);
  const expired = await until("EXPIRED", async () => {
    const body = (await f.http.getDeviceRequest(pending.request_id)).body;
    return body.status === "EXPIRED" ? body : undefined;
  }, (EXPIRY_SECONDS + 5) * 1_000);
  assert.equal(expired.expired_at, expired.expires_at);
  const late = await f.http.replyToDeviceRequest(pending.request_id, { result: 0 });
  assert.equal(late.status, 409);
  assert.equal((late.body as any).code, "DEVICE_REQUEST_EXPIRED");
  const listedExpired = await f.http.listDeviceRequests({ device_id: sn, status: "EXPIRED" });
  assert.deepEqual(listedExpired.body.items.map((i) => i.request_id), [pending.request_id]);
  assert.deepEqual(repliesTo(sent.tid), [], "nothing was sent to the dock");
});

test("dock simulate --request sends the request once online and prints the answer it gets", async () => {
  const sn = f.device("cli-sim");
  const child = spawn("node", [
    ...["--import", "tsx", "src/cli/main.ts", "dock", "simulate", "--sn", sn],
    ...["--request", "offline_map_get", "--mqtt", f.mqttUrl],
  ], { env: { ...process.env }, stdio: ["ignore", "pipe", "inherit"] });
  const lines: any[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => lines.push(JSON.parse(l)));
  try {
    const answer = await until(
      "the requests_reply line",
      () => lines.find((l) => l.requests_reply),
      20_000,
    );
    const sent = lines.find((l) => l.request);
    assert.deepEqual(sent, { request: "offline_map_get", sn, tid: sent.tid });
    assert.deepEqual(answer, {
      requests_reply: "offline_map_get",
      sn,
      tid: sent.tid,
      data: { result: 0 },
    });
    const listed = await f.http.listDeviceRequests({ device_id: sn });
    assert.deepEqual(listed.body.items.map((i) => [i.method, i.status, i.answered_by]), [
      ["offline_map_get", "ANSWERED", "downlink"],
    ]);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});
