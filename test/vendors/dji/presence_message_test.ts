import { test } from "node:test";
import assert from "node:assert/strict";
import {
  buildStatusReply,
  envelopeGateway,
  firmwareOfState,
  parseStatusMessage,
  presenceTopic,
} from "../../../src/vendors/dji/presence_message.ts";

const bytes = (v: unknown) =>
  new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

test("update_topo parses into the gateway's product and its sub-devices, with model names", () => {
  const parsed = parseStatusMessage(
    bytes({
      tid: "t1",
      bid: "b1",
      method: "update_topo",
      data: {
        domain: "3",
        type: 2,
        sub_type: 0,
        sub_devices: [{ sn: "AC1", domain: "0", type: 91, sub_type: 1, index: "A" }, {
          sn: "bad/sn",
        }],
      },
    }),
    65_536,
  );
  assert.deepEqual(parsed, {
    ok: true,
    topo: {
      tid: "t1",
      bid: "b1",
      gateway: { domain: "3", type: 2, sub_type: 0, model: "DJI Dock 2" },
      sub_devices: [{ device_id: "AC1", domain: "0", type: 91, sub_type: 1, model: "Matrice 3TD" }],
    },
  });
});

test("a status message that is not an update_topo, or not JSON, is refused with the reason", () => {
  const other = parseStatusMessage(bytes({ method: "something_else" }), 65_536);
  assert.equal(other.ok, false);
  assert.match((other as { detail: string }).detail, /something_else/);
  assert.equal(parseStatusMessage(bytes("{"), 65_536).ok, false);
  assert.equal(parseStatusMessage(bytes({ method: "update_topo" }), 10).ok, false);
});

test("status_reply echoes tid and bid with result 0", () => {
  assert.deepEqual(buildStatusReply({ tid: "t", bid: "b", timestamp: 5 }), {
    tid: "t",
    bid: "b",
    timestamp: 5,
    method: "update_topo",
    data: { result: 0 },
  });
});

test("presence topics name their serial and channel; other topics are not presence", () => {
  assert.deepEqual(presenceTopic("sys/product/DOCK1/status"), {
    serial: "DOCK1",
    channel: "status",
  });
  assert.deepEqual(presenceTopic("thing/product/AC1/osd"), { serial: "AC1", channel: "osd" });
  assert.equal(presenceTopic("thing/product/DOCK1/services_reply"), undefined);
  assert.equal(presenceTopic("sys/product/DOCK1/status_reply"), undefined);
  assert.equal(presenceTopic("thing/product/a b/osd"), undefined);
});

test("the envelope's gateway is found in telemetry without parsing it", () => {
  assert.equal(envelopeGateway(bytes({ tid: "t", gateway: "DOCK-1", data: { a: 1 } })), "DOCK-1");
  assert.equal(envelopeGateway(bytes('{"data":{},"gateway": "DOCK.2"}')), "DOCK.2");
  assert.equal(envelopeGateway(bytes({ gateway: "" })), undefined);
  assert.equal(envelopeGateway(bytes({ gateway: "a/b" })), undefined);
  assert.equal(envelopeGateway(bytes({ data: { x: "gateway" } })), undefined);
  assert.equal(envelopeGateway(bytes('{"gateway":"' + "x".repeat(100))), undefined);
});

test("firmware_version is read from a state message", () => {
  assert.equal(firmwareOfState(bytes({ data: { firmware_version: "10.1" } }), 1_000), "10.1");
  assert.equal(firmwareOfState(bytes({ data: { other: 1 } }), 1_000), undefined);
  assert.equal(firmwareOfState(bytes("nope"), 1_000), undefined);
});
