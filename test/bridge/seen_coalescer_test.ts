import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createSeenCoalescer } from "../../src/bridge/seen_coalescer.ts";
import type { SeenFact } from "../../src/bus/messages.ts";

function setup() {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const sent: Array<[number, SeenFact]> = [];
  const seen = createSeenCoalescer({
    clock,
    intervalMs: 500,
    partitionOf: (sn) => sn.endsWith("A") ? 0 : 1,
    send: (p, fact) => sent.push([p, fact]),
  });
  return { clock, sent, seen };
}

test("a thousand messages of two devices travel as one fact per partition per interval", () => {
  const { clock, sent, seen } = setup();
  for (let i = 0; i < 1_000; i++) {
    seen.note({ device_id: "DOCK-A", at: clock.now() + i, gateway: false });
    seen.note({ device_id: "DOCK-B", at: clock.now() + i, gateway: i === 10 });
  }
  assert.equal(sent.length, 0);
  clock.increment(500);
  assert.deepEqual(sent, [
    [0, { kind: "seen", devices: [{ device_id: "DOCK-A", at: 1_000_999, gateway: false }] }],
    [1, { kind: "seen", devices: [{ device_id: "DOCK-B", at: 1_000_999, gateway: true }] }],
  ]);
  clock.increment(5_000);
  assert.equal(sent.length, 2, "nothing noted, nothing sent");
});

test("a firmware version noted once travels with the device's latest time", () => {
  const { clock, sent, seen } = setup();
  seen.note({ device_id: "DOCK-A", at: 1, gateway: false, firmware_version: "1.0" });
  seen.note({ device_id: "DOCK-A", at: 2, gateway: false });
  clock.increment(500);
  assert.deepEqual(sent[0][1].devices, [{
    device_id: "DOCK-A",
    at: 2,
    gateway: false,
    firmware_version: "1.0",
  }]);
});

test("an aircraft's sighting travels to its gateway's partition", () => {
  const { clock, sent, seen } = setup();
  seen.note({ device_id: "AIRCRAFT-B", at: 1, gateway: false, via: "DOCK-A" });
  clock.increment(500);
  assert.equal(sent[0][0], 0);
  assert.deepEqual(sent[0][1].devices, [{
    device_id: "AIRCRAFT-B",
    at: 1,
    gateway: false,
    via: "DOCK-A",
  }]);
});

test("stop sends what is noted at once", () => {
  const { sent, seen } = setup();
  seen.note({ device_id: "DOCK-A", at: 1, gateway: true });
  seen.stop();
  assert.equal(sent.length, 1);
});
