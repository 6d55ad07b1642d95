import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildEventsReply,
  eventsReplyTopic,
  parseDeviceEvent,
} from "../../../src/vendors/dji/device_event_message.ts";

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test("an event parses with the topic's gateway and need_reply as a boolean", () => {
  const parsed = parseDeviceEvent(
    "thing/product/DOCK1/events",
    bytes({
      tid: "t",
      bid: "b",
      method: "cover_open",
      timestamp: "1700000000000",
      need_reply: 1,
      gateway: "OTHER",
      data: { result: 0 },
    }),
    65_536,
  );
  assert.deepEqual(parsed, {
    ok: true,
    gateway: "DOCK1",
    event: {
      tid: "t",
      bid: "b",
      method: "cover_open",
      timestamp: 1_700_000_000_000,
      need_reply: true,
      data: { result: 0 },
    },
  });
});

test("need_reply 0 or absent asks for no answer", () => {
  for (const need_reply of [0, undefined, "0", 2]) {
    const parsed = parseDeviceEvent(
      "thing/product/DOCK1/events",
      bytes({ method: "hms", need_reply }),
      65_536,
    );
    assert.equal(parsed.ok && parsed.event.need_reply, false, String(need_reply));
  }
});

test("an event without a method, not JSON, or too large is refused with its reason", () => {
  const topic = "thing/product/DOCK1/events";
  const reason = (b: Uint8Array, max = 65_536) => {
    const p = parseDeviceEvent(topic, b, max);
    return p.ok ? "ok" : p.reason;
  };
  assert.equal(reason(bytes({ tid: "t", need_reply: 1 })), "NO_METHOD");
  assert.equal(reason(new TextEncoder().encode("{")), "NOT_JSON");
  assert.equal(reason(bytes([1])), "NOT_AN_OBJECT");
  assert.equal(reason(bytes({ method: "hms" }), 3), "TOO_LARGE");
  const bad = parseDeviceEvent("thing/product/+/events", bytes({ method: "hms" }), 65_536);
  assert.equal(bad.ok ? "ok" : bad.reason, "BAD_TOPIC");
});

test("events_reply echoes tid, bid and method with a fresh timestamp and result 0", () => {
  const reply = buildEventsReply(
    { tid: "t", bid: "b", method: "drone_open", timestamp: 1, need_reply: true, data: {} },
    42,
  );
  assert.deepEqual(reply, {
    tid: "t",
    bid: "b",
    timestamp: 42,
    method: "drone_open",
    data: { result: 0 },
  });
  assert.equal(eventsReplyTopic("DOCK1"), "thing/product/DOCK1/events_reply");
});
