// events_reply end to end: a dock played with mqtt.js sends `events`; one with need_reply: 1 is
// answered once per message on events_reply (same tid, bid, method, data {result: 0}) after it
// is recorded; one with need_reply: 0 gets no answer; an event no command claims is kept as the
// device event `downlink.device.{gateway_sn}.event`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import type { Subscription } from "@nats-io/transport-node";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { streamEvents } from "../support/stream_events.ts";
import type { DockEvent } from "../../src/device/dock_event.ts";

let f: LifecycleFixture;
let dock: MqttClient;
let sub: Subscription;
const replies: Array<{ topic: string; body: any }> = [];
const deviceEvents: DockEvent[] = [];

before(async () => {
  f = await startLifecycleFixture();
  dock = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `dock-test-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 5,
  });
  dock.on("message", (topic, payload) => {
    replies.push({ topic, body: JSON.parse(payload.toString()) });
  });
  sub = f.nc.subscribe("downlink.device.*.event");
  void (async () => {
    for await (const m of sub) deviceEvents.push(m.json<DockEvent>());
  })();
  await f.nc.flush();
});

after(async () => {
  sub?.unsubscribe();
  await dock?.endAsync();
  await f?.stop();
});

async function until<T>(what: string, probe: () => T | undefined, ms = 8_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function event(sn: string, needReply: 0 | 1, extra: Record<string, unknown> = {}) {
  return {
    tid: crypto.randomUUID(),
    bid: crypto.randomUUID(),
    timestamp: 1_700_000_000_000,
    gateway: sn,
    method: "hms",
    need_reply: needReply,
    data: { list: [{ code: "0x16100083", level: 1 }] },
    ...extra,
  };
}

test("an event with need_reply 1 is answered once on events_reply, echoing tid, bid and method", async () => {
  const sn = f.device("needs-reply");
  await dock.subscribeAsync(`thing/product/${sn}/events_reply`, { qos: 1 });
  const sent = event(sn, 1, { method: "file_upload_callback" });
  await dock.publishAsync(`thing/product/${sn}/events`, JSON.stringify(sent), { qos: 1 });

  const reply = await until("events_reply", () => replies.find((r) => r.body.tid === sent.tid));
  assert.equal(reply.topic, `thing/product/${sn}/events_reply`);
  assert.equal(reply.body.bid, sent.bid);
  assert.equal(reply.body.method, "file_upload_callback");
  assert.deepEqual(reply.body.data, { result: 0 });
  assert.equal(typeof reply.body.timestamp, "number");
  // Recorded: no command claims it, so it is the gateway's device event, in the stream.
  const kept = await until("device event", () => deviceEvents.find((e) => e.tid === sent.tid));
  assert.equal(kept.event_type, "device.event");
  assert.equal(kept.gateway_sn, sn);
  assert.equal(kept.method, "file_upload_callback");
  assert.deepEqual(kept.data, sent.data);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(replies.filter((r) => r.body.tid === sent.tid).length, 1);
});

test("a dock that sends an event again gets another answer; the event is kept once", async () => {
  const sn = f.device("resends");
  await dock.subscribeAsync(`thing/product/${sn}/events_reply`, { qos: 1 });
  const sent = JSON.stringify(event(sn, 1));
  const tid = JSON.parse(sent).tid;
  await dock.publishAsync(`thing/product/${sn}/events`, sent, { qos: 1 });
  await until("first events_reply", () => replies.find((r) => r.body.tid === tid));
  await dock.publishAsync(`thing/product/${sn}/events`, sent, { qos: 1 });
  await until("second events_reply", () => {
    const n = replies.filter((r) => r.body.tid === tid).length;
    return n >= 2 ? n : undefined;
  });
  const stored = await streamEvents(f.nc, `downlink.device.${sn}.event`);
  assert.equal(stored.filter((e: any) => e.tid === tid).length, 1);
});

test("an event with need_reply 0 is kept and not answered", async () => {
  const sn = f.device("no-reply");
  await dock.subscribeAsync(`thing/product/${sn}/events_reply`, { qos: 1 });
  const sent = event(sn, 0);
  await dock.publishAsync(`thing/product/${sn}/events`, JSON.stringify(sent), { qos: 1 });
  await until("device event", () => deviceEvents.find((e) => e.tid === sent.tid));
  // An answer would have come with the recording; give it time to show anyway.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(replies.filter((r) => r.topic === `thing/product/${sn}/events_reply`).length, 0);
});
