import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildServicesEnvelope,
  deviceTopic,
  parseDeviceReply,
  REPLY_TOPICS,
} from "../../../src/vendors/dji/envelope.ts";

const LIMIT = 65_536;
const bytes = (text: string) => new TextEncoder().encode(text);

test("the services envelope carries tid, bid, timestamp, method and data, and no gateway", () => {
  const envelope = buildServicesEnvelope({
    tid: "t-1",
    bid: "b-1",
    method: "fileupload_list",
    data: { module_list: ["0", "3"] },
    timestamp: 1_700_000_000_000,
  });
  assert.equal(
    JSON.stringify(envelope),
    '{"tid":"t-1","bid":"b-1","timestamp":1700000000000,"method":"fileupload_list","data":{"module_list":["0","3"]}}',
  );
});

test("a command without data is sent with data {}", () => {
  for (const data of [undefined, null]) {
    const envelope = buildServicesEnvelope({
      tid: "t",
      bid: "b",
      method: "cover_open",
      data,
      timestamp: 1,
    });
    assert.deepEqual(envelope.data, {});
  }
});

test("services commands go to the services topic and DRC commands to drc/down", () => {
  assert.equal(deviceTopic("services", "DOCK-1"), "thing/product/DOCK-1/services");
  assert.equal(deviceTopic("drc", "DOCK-1"), "thing/product/DOCK-1/drc/down");
});

test("bridges subscribe to services_reply and drc/up of every gateway", () => {
  assert.deepEqual([...REPLY_TOPICS], ["thing/product/+/services_reply", "thing/product/+/drc/up"]);
});

test("a good services_reply parses with the gateway taken from the topic", () => {
  const body =
    '{"bid":"5ba9","data":{"result":321004},"method":"fly_to_point","tid":"2a2d","timestamp":1693540348431,"gateway":"OTHER"}';
  const parsed = parseDeviceReply("thing/product/DOCK-1/services_reply", bytes(body), LIMIT);
  assert.deepEqual(parsed, {
    ok: true,
    gateway: "DOCK-1",
    channel: "services",
    reply: {
      tid: "2a2d",
      bid: "5ba9",
      method: "fly_to_point",
      timestamp: 1693540348431,
      gateway: "OTHER",
      data: { result: 321004 },
    },
  });
});

test("a reply without method or gateway parses, and an empty gateway counts as none", () => {
  const parsed = parseDeviceReply(
    "thing/product/DOCK-1/services_reply",
    bytes('{"tid":"t","bid":"b","timestamp":"1598411295123","gateway":"","data":{"result":0}}'),
    LIMIT,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.reply, {
    tid: "t",
    bid: "b",
    timestamp: 1598411295123,
    data: { result: 0 },
  });
});

test("a services_reply without tid is refused with NO_TID", () => {
  const parsed = parseDeviceReply(
    "thing/product/DOCK-1/services_reply",
    bytes('{"data":{"result":0}}'),
    LIMIT,
  );
  assert.equal(parsed.ok, false);
  assert.ok(!parsed.ok);
  assert.equal(parsed.reason, "NO_TID");
  assert.equal(parsed.gateway, "DOCK-1");
});

test("a services_reply whose tid is not a string is refused with NO_TID", () => {
  const parsed = parseDeviceReply(
    "thing/product/DOCK-1/services_reply",
    bytes('{"tid":42,"data":{}}'),
    LIMIT,
  );
  assert.ok(!parsed.ok);
  assert.equal(parsed.reason, "NO_TID");
  assert.match(parsed.detail, /got 42/);
});

test("a drc/up message without tid parses with tid undefined", () => {
  const parsed = parseDeviceReply(
    "thing/product/DOCK-1/drc/up",
    bytes('{"method":"drone_control","data":{"result":0,"output":{"seq":7}}}'),
    LIMIT,
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.channel, "drc");
  assert.equal(parsed.reply.tid, undefined);
  assert.deepEqual(parsed.reply, {
    method: "drone_control",
    data: { result: 0, output: { seq: 7 } },
  });
});

test("bytes that are not JSON are refused with NOT_JSON", () => {
  for (const raw of [bytes("{not json"), new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])]) {
    const parsed = parseDeviceReply("thing/product/DOCK-1/services_reply", raw, LIMIT);
    assert.ok(!parsed.ok);
    assert.equal(parsed.reason, "NOT_JSON");
    assert.equal(parsed.gateway, "DOCK-1");
  }
});

test("JSON that is not an object is refused with NOT_AN_OBJECT", () => {
  for (const text of ["[1,2]", "null", '"tid"', "42"]) {
    const parsed = parseDeviceReply("thing/product/DOCK-1/services_reply", bytes(text), LIMIT);
    assert.ok(!parsed.ok);
    assert.equal(parsed.reason, "NOT_AN_OBJECT", text);
  }
});

test("a reply over the size limit is refused with TOO_LARGE before it is parsed", () => {
  const huge = bytes(`{"tid":"t","data":{"result":0,"pad":"${"x".repeat(LIMIT)}"}}`);
  const parsed = parseDeviceReply("thing/product/DOCK-1/services_reply", huge, LIMIT);
  assert.ok(!parsed.ok);
  assert.equal(parsed.reason, "TOO_LARGE");
  assert.equal(parsed.gateway, "DOCK-1");
  // Not even JSON: size is decided first.
  const garbage = parseDeviceReply("thing/product/DOCK-1/services_reply", new Uint8Array(11), 10);
  assert.ok(!garbage.ok);
  assert.equal(garbage.reason, "TOO_LARGE");
});

test("a reply nested deeper than 64 levels is refused with TOO_DEEP, naming where", () => {
  const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
  for (const topic of ["thing/product/DOCK-1/services_reply", "thing/product/DOCK-1/drc/up"]) {
    const body = `{"tid":"t","method":"m","data":{"result":0,"output":${deep(100_000)}}}`;
    const parsed = parseDeviceReply(topic, bytes(body), 1_000_000);
    assert.ok(!parsed.ok, topic);
    assert.equal(parsed.reason, "TOO_DEEP");
    assert.equal(parsed.gateway, "DOCK-1");
    assert.equal(
      parsed.detail,
      `Reply is nested deeper than 64 levels at $.data.output${"[0]".repeat(62)}`,
    );
  }
  // 64 levels in all (the body, data and 62 arrays) is still a reply.
  const edge = `{"tid":"t","data":{"result":0,"output":${deep(62)}}}`;
  assert.ok(parseDeviceReply("thing/product/DOCK-1/services_reply", bytes(edge), LIMIT).ok);
});

test("topics other than services_reply and drc/up are refused with BAD_TOPIC", () => {
  const body = bytes('{"tid":"t","data":{"result":0}}');
  for (
    const topic of [
      "thing/product/DOCK-1/services",
      "thing/product/DOCK-1/events",
      "thing/product//services_reply",
      "thing/product/DOCK-1/drc/down",
      "thing/product/a/b/services_reply",
      "sys/product/DOCK-1/status",
      "",
    ]
  ) {
    const parsed = parseDeviceReply(topic, body, LIMIT);
    assert.ok(!parsed.ok, topic);
    assert.equal(parsed.reason, "BAD_TOPIC", topic);
    assert.equal(parsed.gateway, undefined);
  }
});

test("a gateway that is no valid serial (it would become a NATS subject token) is BAD_TOPIC", () => {
  const body = bytes('{"tid":"t","data":{"result":0}}');
  for (
    const gateway of ["a b", "dock*", "dock>", "-dock", "x".repeat(65), "dock\u0000"]
  ) {
    const parsed = parseDeviceReply(`thing/product/${gateway}/services_reply`, body, LIMIT);
    assert.ok(!parsed.ok, gateway);
    assert.equal(parsed.reason, "BAD_TOPIC", gateway);
  }
  assert.ok(parseDeviceReply("thing/product/DOCK.1_a-b/services_reply", body, LIMIT).ok);
});
