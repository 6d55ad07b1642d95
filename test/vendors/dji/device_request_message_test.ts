import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildRequestsReply,
  parseDeviceRequest,
  requestsReplyTopic,
} from "../../../src/vendors/dji/device_request_message.ts";
import { autoAnswerOf } from "../../../src/vendors/dji/request_auto_answers.ts";

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test("a request parses with the topic's gateway, its data as sent", () => {
  const parsed = parseDeviceRequest(
    "thing/product/DOCK1/requests",
    bytes({
      tid: "t",
      bid: "b",
      method: "storage_config_get",
      timestamp: "1700000000000",
      gateway: "OTHER",
      data: { module: 0 },
    }),
    65_536,
  );
  assert.deepEqual(parsed, {
    ok: true,
    gateway: "DOCK1",
    request: {
      tid: "t",
      bid: "b",
      method: "storage_config_get",
      timestamp: 1_700_000_000_000,
      data: { module: 0 },
    },
  });
});

test("a request without data (flight_areas_get) has data null", () => {
  const parsed = parseDeviceRequest(
    "thing/product/DOCK1/requests",
    bytes({ tid: "t", method: "flight_areas_get" }),
    65_536,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.request, { tid: "t", method: "flight_areas_get", data: null });
});

test("a request without a tid or a method, or not JSON, or on another topic is refused", () => {
  const cases: Array<[string, unknown, string]> = [
    ["thing/product/D/requests", { method: "config" }, "NO_TID"],
    ["thing/product/D/requests", { tid: "", method: "config" }, "NO_TID"],
    ["thing/product/D/requests", { tid: "t" }, "NO_METHOD"],
    ["thing/product/D/requests", { tid: "t", method: 7 }, "NO_METHOD"],
    ["thing/product/D/requests", [1], "NOT_AN_OBJECT"],
    ["thing/product/D/events", { tid: "t", method: "config" }, "BAD_TOPIC"],
    ["thing/product/../requests", { tid: "t", method: "config" }, "BAD_TOPIC"],
  ];
  for (const [topic, body, reason] of cases) {
    const parsed = parseDeviceRequest(topic, bytes(body), 65_536);
    assert.equal(parsed.ok, false, JSON.stringify(body));
    if (!parsed.ok) assert.equal(parsed.reason, reason, JSON.stringify(body));
  }
  const garbage = parseDeviceRequest("thing/product/D/requests", bytes("x").slice(1), 65_536);
  assert.equal(!garbage.ok && garbage.reason, "NOT_JSON");
  const large = parseDeviceRequest("thing/product/D/requests", bytes({ tid: "t" }), 4);
  assert.equal(!large.ok && large.reason, "TOO_LARGE");
});

test("requests_reply echoes tid, bid and method with the answer as data", () => {
  assert.equal(requestsReplyTopic("DOCK1"), "thing/product/DOCK1/requests_reply");
  assert.deepEqual(
    buildRequestsReply(
      { tid: "t", bid: "b", method: "storage_config_get" },
      { result: 0, output: { bucket: "media" } },
      42,
    ),
    {
      tid: "t",
      bid: "b",
      timestamp: 42,
      method: "storage_config_get",
      data: { result: 0, output: { bucket: "media" } },
    },
  );
  assert.deepEqual(
    buildRequestsReply({ tid: "t", method: "offline_map_get" }, { result: 0 }, 1),
    { tid: "t", timestamp: 1, method: "offline_map_get", data: { result: 0 } },
  );
});

test("Downlink answers only the requests a dock waits on before a takeoff", () => {
  assert.deepEqual(autoAnswerOf("flight_areas_get"), { result: 0, output: { files: [] } });
  assert.deepEqual(autoAnswerOf("offline_map_get"), { result: 0 });
  for (const method of ["storage_config_get", "config", "flighttask_resource_get", "toString"]) {
    assert.equal(autoAnswerOf(method), undefined, method);
  }
});
