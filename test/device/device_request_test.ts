import assert from "node:assert/strict";
import { test } from "node:test";
import {
  deviceRequestEvent,
  deviceRequestId,
  deviceRequestView,
  newDeviceRequest,
  storedDeviceRequestEvent,
} from "../../src/device/device_request.ts";
import type { RequestFact } from "../../src/bus/messages.ts";
import { vendor } from "../../src/composition_root.ts";

const timing = { graceMs: 5_000, expiryMs: 60_000 };
const fact = (method: string, tid = "tid-1", gateway = "DOCK.1"): RequestFact => ({
  kind: "request",
  vendor: "dji",
  gateway,
  received_at: 1_800_000_000_000,
  request: { tid, bid: "bid-1", method, timestamp: 1_799_999_999_000, data: { module: 0 } },
});

test("one id per gateway and tid: the same request sent again is the same request", () => {
  assert.equal(deviceRequestId("DOCK", "t"), deviceRequestId("DOCK", "t"));
  assert.notEqual(deviceRequestId("DOCK", "t"), deviceRequestId("DOCK", "u"));
  assert.notEqual(deviceRequestId("DOCK", "t"), deviceRequestId("DOCK2", "t"));
  // No separator games: ("a.b", "c") and ("a", "b.c") differ.
  assert.notEqual(deviceRequestId("a", "b|c"), deviceRequestId("a|b", "c"));
});

test("a request Downlink can answer gets an auto-answer time; every request an expiry", () => {
  const auto = newDeviceRequest(fact("flight_areas_get"), 3, timing, vendor);
  assert.equal(auto.status, "PENDING");
  assert.equal(auto.partition, 3);
  assert.equal(auto.auto_answer_at, 1_800_000_005_000);
  assert.equal(auto.expires_at, 1_800_000_060_000);
  const waits = newDeviceRequest(fact("storage_config_get"), 3, timing, vendor);
  assert.equal(waits.auto_answer_at, undefined);
  assert.equal(waits.expires_at, 1_800_000_060_000);
  // A grace no shorter than the expiry would answer a dock that gave up: no auto-answer.
  const late = newDeviceRequest(
    fact("offline_map_get"),
    3,
    { graceMs: 60_000, expiryMs: 60_000 },
    vendor,
  );
  assert.equal(late.auto_answer_at, undefined);
});

test("the view and the event say what came, with RFC 3339 times; the event id is the request's", () => {
  const r = newDeviceRequest(fact("flight_areas_get"), 0, timing, vendor);
  assert.deepEqual(deviceRequestView(r), {
    request_id: r.request_id,
    device_id: "DOCK.1",
    gateway_sn: "DOCK.1",
    method: "flight_areas_get",
    tid: "tid-1",
    bid: "bid-1",
    data: { module: 0 },
    device_timestamp: 1_799_999_999_000,
    status: "PENDING",
    received_at: "2027-01-15T08:00:00.000Z",
    auto_answer_at: "2027-01-15T08:00:05.000Z",
    expires_at: "2027-01-15T08:01:00.000Z",
  });
  const event = deviceRequestEvent(r);
  assert.equal(event.event_type, "device.request");
  assert.equal(event.request_id, r.request_id);
  assert.equal(event.occurred_at, "2027-01-15T08:00:00.000Z");
  assert.equal(
    deviceRequestEvent(newDeviceRequest(fact("flight_areas_get"), 0, timing, vendor)).event_id,
    event.event_id,
  );
  const stored = storedDeviceRequestEvent(event);
  // A dot in a serial is escaped: one subject token.
  assert.equal(stored.subject, "downlink.device.DOCK%2E1.request");
  assert.deepEqual(JSON.parse(stored.body), event);
});
