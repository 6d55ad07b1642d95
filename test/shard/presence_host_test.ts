import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { SimulatedClock } from "xstate";
import { createPresenceHost } from "../../src/shard/presence_host.ts";
import type { DeviceStore } from "../../src/store/device_store.ts";
import type { EventOutbox, OutboxEvent } from "../../src/store/event_outbox.ts";
import type { DeviceRecord } from "../../src/device/device_record.ts";
import { createLogger } from "../../src/runtime/log.ts";

const OFFLINE_AFTER_MS = 30_000;
const dock2 = { domain: "3", type: 2, sub_type: 0, model: "DJI Dock 2" };

function setup(
  loaded: DeviceRecord[] = [],
  onlineChanged?: (d: Readonly<DeviceRecord>) => void,
) {
  const clock = new SimulatedClock();
  clock.set(1_800_000_000_000);
  const writes: Array<{ rows: DeviceRecord[]; events: OutboxEvent[] }> = [];
  const published: string[] = [];
  const removed: string[] = [];
  const store: DeviceStore = {
    load: () => Promise.resolve(loaded),
    write: (rows, events) => {
      writes.push({ rows: rows.map((r) => ({ ...r })), events: [...events] });
      return Promise.resolve();
    },
  };
  const outbox: EventOutbox = {
    pending: () => Promise.resolve([]),
    remove: (ids) => {
      removed.push(...ids);
      return Promise.resolve();
    },
  };
  const host = createPresenceHost({
    store,
    outbox,
    events: {
      publish: (e) => {
        published.push(e.subject);
        return Promise.resolve();
      },
    },
    offlineAfterMs: OFFLINE_AFTER_MS,
    partitionOf: () => 0,
    clock,
    log: createLogger("silent"),
    onlineChanged,
  });
  return { clock, host, writes, published, removed };
}

/** Lets the host's promise chains and its setImmediate batch run (no time passes). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

test("an update_topo is written with its events before take() resolves, then published", async () => {
  const { host, writes, published, removed } = setup();
  await host.take({
    kind: "topology",
    gateway: "DOCK",
    at: 1,
    topo: { gateway: dock2, sub_devices: [] },
  });
  assert.equal(writes.length, 1);
  assert.deepEqual(writes[0].rows.map((r) => [r.device_id, r.online]), [["DOCK", true]]);
  assert.deepEqual(writes[0].events.map((e) => e.subject), [
    "downlink.device.DOCK.online",
    "downlink.device.DOCK.topology",
  ]);
  await settle();
  assert.deepEqual(published, ["downlink.device.DOCK.online", "downlink.device.DOCK.topology"]);
  assert.equal(removed.length, 2);
  await host.stop();
});

test("telemetry of an online gateway costs no write until the periodic one, which writes it once", async () => {
  const { clock, host, writes } = setup();
  await host.take({
    kind: "topology",
    gateway: "DOCK",
    at: clock.now(),
    topo: { gateway: dock2, sub_devices: [] },
  });
  writes.length = 0;
  for (let i = 0; i < 50; i++) {
    clock.increment(100);
    await host.take({
      kind: "seen",
      devices: [{ device_id: "DOCK", at: clock.now(), gateway: false }],
    });
  }
  assert.equal(writes.length, 0);
  clock.increment(OFFLINE_AFTER_MS / 3); // the periodic write is due
  await settle();
  assert.equal(writes.length, 1);
  assert.deepEqual(writes[0].events, []);
  assert.equal(writes[0].rows[0].last_seen_at, clock.now() - OFFLINE_AFTER_MS / 3);
  await host.stop();
});

test("the sweep takes a silent gateway offline on the host's clock", async () => {
  const { clock, host, writes } = setup();
  await host.take({
    kind: "topology",
    gateway: "DOCK",
    at: clock.now(),
    topo: { gateway: dock2, sub_devices: [] },
  });
  clock.increment(OFFLINE_AFTER_MS + 1_000);
  await settle();
  const offline = writes.flatMap((w) => w.events).filter((e) => e.subject.endsWith(".offline"));
  assert.equal(offline.length, 1);
  assert.equal(host.device("DOCK")!.online, false);
  await host.stop();
});

test("a partition let go writes what waited for the periodic write", async () => {
  const { clock, host, writes } = setup();
  await host.take({
    kind: "topology",
    gateway: "DOCK",
    at: clock.now(),
    topo: { gateway: dock2, sub_devices: [] },
  });
  writes.length = 0;
  await host.take({
    kind: "seen",
    devices: [{ device_id: "DOCK", at: clock.now() + 50, gateway: false }],
  });
  host.drop(0);
  await settle();
  assert.deepEqual(writes.map((w) => w.rows.map((r) => r.last_seen_at)), [[clock.now() + 50]]);
  assert.equal(host.device("DOCK"), undefined);
  await host.stop();
});

test("a restored partition's gateways are known, and aged by their last message", async () => {
  const { clock, host, writes } = setup([{
    device_id: "DOCK",
    kind: "gateway",
    online: true,
    online_since: 1_800_000_000_000 - 60_000,
    last_seen_at: 1_800_000_000_000 - OFFLINE_AFTER_MS + 500,
  }]);
  await host.restore(0);
  assert.equal(host.device("DOCK")!.online, true);
  clock.increment(1_000);
  await settle();
  assert.equal(host.device("DOCK")!.online, false);
  assert.equal(writes[0].events[0].subject, "downlink.device.DOCK.offline");
  await host.stop();
});

test("a restored gateway silent past the delay is offline as soon as it is restored", async () => {
  const changes: Array<[string, boolean]> = [];
  const { host } = setup([{
    device_id: "DOCK",
    kind: "gateway",
    online: true,
    online_since: 1_800_000_000_000 - 600_000,
    last_seen_at: 1_800_000_000_000 - OFFLINE_AFTER_MS - 1,
  }], (d) => changes.push([d.device_id, d.online]));
  await host.restore(0);
  // Before any sweep: a command must not be published to it meanwhile.
  assert.equal(host.device("DOCK")!.online, false);
  assert.deepEqual(changes, [["DOCK", false]]);
  await host.stop();
});

test("the shard is told at once when a gateway comes online and when it goes offline", async () => {
  const changes: Array<[string, boolean, number | undefined]> = [];
  const { clock, host } = setup([], (d) => changes.push([d.device_id, d.online, d.last_seen_at]));
  const t0 = clock.now();
  void host.take({ kind: "seen", devices: [{ device_id: "DOCK", at: t0, gateway: true }] });
  assert.deepEqual(changes, [["DOCK", true, t0]], "told before anything is written");
  void host.take({ kind: "seen", devices: [{ device_id: "DOCK", at: t0 + 10, gateway: true }] });
  assert.equal(changes.length, 1, "a device already online is not told again");
  clock.increment(OFFLINE_AFTER_MS + 1_000);
  await settle();
  assert.deepEqual(changes.at(-1), ["DOCK", false, t0 + 10]);
  await host.stop();
});
