import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createPresenceRegistry } from "../../src/device/presence_registry.ts";

const DOCK = "DOCK-1";
const AIRCRAFT = "AC-1";
const OFFLINE_AFTER_MS = 30_000;
const dock2 = { domain: "3", type: 2, sub_type: 0, model: "DJI Dock 2" };
const m3d = { domain: "0", type: 91, sub_type: 0, model: "Matrice 3D" };

function setup() {
  const clock = new SimulatedClock();
  clock.set(1_800_000_000_000);
  let n = 0;
  const registry = createPresenceRegistry({
    offlineAfterMs: OFFLINE_AFTER_MS,
    partitionOf: (sn) => sn.length % 4,
    newEventId: () => `e${++n}`,
  });
  return { clock, registry };
}

test("update_topo brings a gateway and its aircraft online, with online and topology events", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  const { rows, events } = registry.take(false);
  assert.deepEqual(events.map((e) => e.event_type), ["device.online", "device.topology"]);
  assert.equal(events[1].model, "DJI Dock 2");
  assert.deepEqual(events[1].sub_devices, [{
    device_id: AIRCRAFT,
    model: "Matrice 3D",
    type: 91,
    sub_type: 0,
    online: true,
  }]);
  const dock = rows.find((r) => r.device_id === DOCK)!;
  assert.equal(dock.online, true);
  assert.equal(dock.online_since, clock.now());
  const aircraft = rows.find((r) => r.device_id === AIRCRAFT)!;
  assert.equal(aircraft.gateway_sn, DOCK);
  assert.equal(aircraft.online, true);
});

test("the same update_topo again changes no state and reports nothing", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  registry.take(false);
  clock.increment(1_000);
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  assert.equal(registry.urgent(), false);
  assert.deepEqual(registry.take(false), { rows: [], events: [] });
});

test("an aircraft the gateway no longer lists goes offline, the gateway stays online", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  registry.take(false);
  clock.increment(5_000);
  registry.topology(DOCK, { gateway: dock2, sub_devices: [] }, clock.now());
  const { rows, events } = registry.take(false);
  assert.deepEqual(events.map((e) => e.event_type), ["device.topology"]);
  assert.deepEqual(events[0].sub_devices, []);
  assert.equal(events[0].online, true);
  assert.equal(rows.find((r) => r.device_id === AIRCRAFT)!.online, false);
  assert.equal(registry.get(DOCK)!.online, true);
});

test("any message from an unknown serial on a gateway-only topic registers a gateway online", () => {
  const { clock, registry } = setup();
  registry.seen({ device_id: DOCK, at: clock.now(), gateway: true });
  const { events } = registry.take(false);
  assert.deepEqual(events.map((e) => e.event_type), ["device.online"]);
  assert.equal(registry.get(DOCK)!.kind, "gateway");
});

test("osd from an unknown serial registers nothing: it may be an aircraft", () => {
  const { clock, registry } = setup();
  registry.seen({ device_id: "SOMETHING", at: clock.now(), gateway: false });
  assert.equal(registry.size(), 0);
  assert.deepEqual(registry.take(true), { rows: [], events: [] });
});

test("a gateway goes offline after the delay of silence, not before, and takes its aircraft", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  registry.take(false);
  clock.increment(OFFLINE_AFTER_MS - 1);
  registry.sweep(clock.now());
  assert.equal(registry.urgent(), false);
  clock.increment(1);
  registry.sweep(clock.now());
  const { rows, events } = registry.take(false);
  assert.deepEqual(events.map((e) => e.event_type), ["device.offline"]);
  assert.equal(events[0].online, false);
  assert.equal(rows.find((r) => r.device_id === DOCK)!.online, false);
  assert.equal(rows.find((r) => r.device_id === AIRCRAFT)!.online, false);
  // Swept once: silence goes on, no second event.
  clock.increment(OFFLINE_AFTER_MS);
  registry.sweep(clock.now());
  assert.equal(registry.urgent(), false);
});

test("telemetry keeps a gateway online, and a message after offline brings it back", () => {
  const { clock, registry } = setup();
  registry.topology(DOCK, { gateway: dock2, sub_devices: [] }, clock.now());
  registry.take(false);
  for (let i = 0; i < 30; i++) {
    clock.increment(2_000);
    registry.seen({ device_id: DOCK, at: clock.now(), gateway: false });
    registry.sweep(clock.now());
  }
  assert.equal(registry.get(DOCK)!.online, true);
  clock.increment(OFFLINE_AFTER_MS);
  registry.sweep(clock.now());
  assert.equal(registry.get(DOCK)!.online, false);
  registry.take(false);
  clock.increment(1_000);
  registry.seen({ device_id: DOCK, at: clock.now(), gateway: false });
  const { events } = registry.take(false);
  assert.deepEqual(events.map((e) => e.event_type), ["device.online"]);
  assert.equal(registry.get(DOCK)!.online_since, clock.now());
});

test("telemetry of an online gateway is coalesced: no row until the lazy write, then one", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  registry.take(false);
  for (let i = 0; i < 100; i++) {
    clock.increment(100);
    registry.seen({ device_id: DOCK, at: clock.now(), gateway: false });
    registry.seen({ device_id: AIRCRAFT, at: clock.now(), gateway: false });
  }
  assert.equal(registry.urgent(), false);
  assert.deepEqual(registry.take(false).rows, []);
  const { rows, events } = registry.take(true);
  assert.deepEqual(events, []);
  assert.deepEqual(rows.map((r) => r.device_id).sort(), [AIRCRAFT, DOCK]);
  assert.equal(rows.find((r) => r.device_id === DOCK)!.last_seen_at, clock.now());
  assert.deepEqual(registry.take(true).rows, []);
});

test("an aircraft's telemetry keeps its gateway alive", () => {
  const { clock, registry } = setup();
  registry.topology(
    DOCK,
    { gateway: dock2, sub_devices: [{ device_id: AIRCRAFT, ...m3d }] },
    clock.now(),
  );
  clock.increment(OFFLINE_AFTER_MS - 1_000);
  registry.seen({ device_id: AIRCRAFT, at: clock.now(), gateway: false });
  clock.increment(2_000);
  registry.sweep(clock.now());
  assert.equal(registry.get(DOCK)!.online, true);
});

test("osd of an aircraft no topology named yet, carried by a known gateway, keeps that gateway alive", () => {
  const { clock, registry } = setup();
  registry.topology(DOCK, { gateway: dock2, sub_devices: [] }, clock.now());
  clock.increment(OFFLINE_AFTER_MS - 1_000);
  registry.seen({ device_id: "UNNAMED", at: clock.now(), gateway: false, via: DOCK });
  clock.increment(2_000);
  registry.sweep(clock.now());
  assert.equal(registry.get(DOCK)!.online, true);
  assert.equal(registry.get("UNNAMED"), undefined);
});

test("osd naming its own serial as gateway registers that gateway online", () => {
  const { clock, registry } = setup();
  registry.seen({ device_id: DOCK, at: clock.now(), gateway: false, via: DOCK });
  assert.deepEqual(registry.take(false).events.map((e) => e.event_type), ["device.online"]);
  assert.equal(registry.get(DOCK)!.kind, "gateway");
});

test("a restored gateway whose last message is older than the delay is swept offline", () => {
  const { clock, registry } = setup();
  registry.load([{
    device_id: DOCK,
    kind: "gateway",
    online: true,
    online_since: clock.now() - 60_000,
    last_seen_at: clock.now() - OFFLINE_AFTER_MS - 1,
  }]);
  registry.sweep(clock.now());
  assert.deepEqual(registry.take(false).events.map((e) => e.event_type), ["device.offline"]);
});

test("a firmware version from state is kept and reported as a topology change once", () => {
  const { clock, registry } = setup();
  registry.topology(DOCK, { gateway: dock2, sub_devices: [] }, clock.now());
  registry.take(false);
  registry.seen({
    device_id: DOCK,
    at: clock.now(),
    gateway: false,
    firmware_version: "10.01.16.04",
  });
  registry.seen({
    device_id: DOCK,
    at: clock.now(),
    gateway: false,
    firmware_version: "10.01.16.04",
  });
  const { events } = registry.take(false);
  assert.deepEqual(events.map((e) => [e.event_type, e.firmware]), [[
    "device.topology",
    "10.01.16.04",
  ]]);
});

test("drop forgets the devices of a partition only", () => {
  const { clock, registry } = setup();
  registry.topology(
    "AB",
    { gateway: dock2, sub_devices: [{ device_id: "X", ...m3d }] },
    clock.now(),
  );
  registry.topology("ABC", { gateway: dock2, sub_devices: [] }, clock.now());
  registry.drop(2); // "AB".length % 4
  assert.equal(registry.get("AB"), undefined);
  assert.equal(registry.get("X"), undefined);
  assert.ok(registry.get("ABC"));
});
