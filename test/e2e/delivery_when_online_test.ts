// Delivery only to a listening dock, end to end against a real Downlink: a command to a dock that
// is not online waits ACCEPTED without reaching the broker's subscribers, goes when the dock
// announces itself, and ends TIMED_OUT/DEVICE_OFFLINE when its deadline comes first. The docks
// are the simulator's, speaking presence as real ones do (update_topo, osd, silence).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { streamEvents } from "../support/stream_events.ts";
import type { DeviceEvent } from "../../src/device/device_event.ts";

const OFFLINE_AFTER_SECONDS = 2;

let f: LifecycleFixture;
const docks: DockSimulator[] = [];
const listeners: MqttClient[] = [];

before(async () => {
  f = await startLifecycleFixture({
    env: { DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS) },
  });
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await Promise.allSettled(listeners.map((l) => l.endAsync()));
  await f.stop();
});

async function dock(sn: string, options: { silent?: boolean } = {}): Promise<DockSimulator> {
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0, ...options });
  docks.push(d);
  return d;
}

/** What reaches a dock's services topic, heard by a client that does not announce itself. */
async function listen(sn: string): Promise<string[]> {
  const heard: string[] = [];
  const client = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `listener-${crypto.randomUUID().slice(0, 8)}`,
  });
  listeners.push(client);
  client.on("message", (_t, p) => heard.push(JSON.parse(p.toString()).tid));
  await client.subscribeAsync(`thing/product/${sn}/services`, { qos: 1 });
  return heard;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deviceOnline(sn: string, online: boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const res = await f.http.getDevice(sn);
    if (res.status === 200 && res.body.online === online) return;
    if (Date.now() > until) throw new Error(`${sn} did not become ${online ? "on" : "off"}line`);
    await sleep(50);
  }
}

test("a command to a device never seen waits ACCEPTED, unpublished, and is delivered when its dock appears", async () => {
  const sn = f.device("newcomer");
  const heard = await listen(sn);
  const id = await f.submit(sn, { timeout_seconds: 30 });
  await sleep(1_500);
  const waiting = await f.get(id);
  assert.equal(waiting.status, "ACCEPTED");
  assert.equal(waiting.delivered_at, undefined);
  assert.deepEqual(heard, [], "nothing was published to the dock's topic");

  const d = await dock(sn);
  const done = await f.waitForStatus(id, ["SUCCEEDED"], 15_000);
  assert.ok(done.delivered_at, "DELIVERED once the dock was online");
  assert.deepEqual(d.received.map((c) => c.tid), [id]);
  assert.deepEqual(heard, [id]);
});

test("a command to a device never seen ends TIMED_OUT/DEVICE_OFFLINE at its deadline", async () => {
  const sn = f.device("never");
  const id = await f.submit(sn, { timeout_seconds: 1 });
  const body = await f.waitForStatus(id, ["TIMED_OUT"], 10_000);
  assert.equal(body.failure_code, "DEVICE_OFFLINE");
  assert.match(body.failure_reason, /never been seen/);
  assert.equal(body.delivered_at, undefined);
});

test("commands waiting for a dock keep their order when it comes online", async () => {
  const sn = f.device("ordered");
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await f.submit(sn, { timeout_seconds: 30 }));
  const d = await dock(sn);
  for (const id of ids) await f.waitForStatus(id, ["SUCCEEDED"], 15_000);
  assert.deepEqual(d.received.map((c) => c.tid), ids);
});

test("a dock that goes silent ends its waiting command TIMED_OUT/DEVICE_OFFLINE, saying when it was last seen", async () => {
  const sn = f.device("vanishing");
  const d = await dock(sn);
  await d.answered();
  await deviceOnline(sn, true);
  d.offline("silent");
  await deviceOnline(sn, false, (OFFLINE_AFTER_SECONDS + 8) * 1_000);
  const lastSeen = (await f.http.getDevice(sn)).body.last_seen_at!;

  const id = await f.submit(sn, { timeout_seconds: 2 });
  await sleep(1_000);
  assert.equal((await f.get(id)).status, "ACCEPTED");
  const body = await f.waitForStatus(id, ["TIMED_OUT"], 10_000);
  assert.equal(body.failure_code, "DEVICE_OFFLINE");
  assert.equal(
    body.failure_reason,
    `the device was not online before the deadline: last seen ${lastSeen}`,
  );
  assert.equal(body.delivered_at, undefined);
  assert.equal(d.received.filter((c) => c.tid === id).length, 0, "it never reached the dock");
  const completed = await f.waitForEvent((e) =>
    e.command_id === id && e.event_type === "command.completed"
  );
  assert.equal(completed.status, "TIMED_OUT");
  const metrics = await (await fetch(`${f.harness.baseUrl}/metrics`)).text();
  assert.match(metrics, /^downlink_shard_commands_device_offline_total [1-9]/m);
});

test("a command sent while its dock is offline goes once the dock is back", async () => {
  const sn = f.device("returning");
  const d = await dock(sn);
  await d.answered();
  d.offline("silent");
  await deviceOnline(sn, false, (OFFLINE_AFTER_SECONDS + 8) * 1_000);
  const id = await f.submit(sn, { timeout_seconds: 30 });
  await sleep(1_000);
  assert.equal((await f.get(id)).status, "ACCEPTED");
  d.online();
  await f.waitForStatus(id, ["SUCCEEDED"], 15_000);
  assert.equal(d.received.filter((c) => c.tid === id).length, 1);
});

test("an aircraft leaving the topology is offline while its dock stays online and takes commands", async () => {
  const sn = f.device("undocked");
  const aircraft = `${sn}-aircraft`;
  const d = await dock(sn);
  await d.answered();
  await deviceOnline(aircraft, true);
  d.offline("empty-topology");
  await d.answered();
  await deviceOnline(aircraft, false);
  const gateway = await f.http.getDevice(sn);
  assert.equal(gateway.body.online, true);
  assert.deepEqual(gateway.body.sub_devices, []);
  const aircraftView = (await f.http.getDevice(aircraft)).body;
  assert.equal(aircraftView.gateway_sn, sn);

  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);

  const events = (await streamEvents(f.nc, `downlink.device.${sn}.*`)) as unknown as DeviceEvent[];
  const topologies = events.filter((e) => e.event_type === "device.topology");
  assert.deepEqual(topologies.at(-1)?.sub_devices, [], "the last topology lists no aircraft");
  assert.ok(
    topologies.some((e) => e.sub_devices.some((s) => s.device_id === aircraft && s.online)),
    "an earlier topology listed the aircraft",
  );
});
