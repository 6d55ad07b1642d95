// Presence end to end: a dock played with mqtt.js sends update_topo and telemetry to a real
// Downlink; it is answered once with status_reply, listed over the signed API, reported in the
// events stream, and goes offline after the (shortened) silence delay.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Subscription } from "@nats-io/transport-node";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { streamEvents } from "../support/stream_events.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient } from "../../src/client/downlink_client.ts";
import type { DeviceEvent } from "../../src/device/device_event.ts";
import { partitionOf } from "../../src/command/partition.ts";
import { DeviceListSchema, DeviceViewSchema, ErrorSchema } from "../../src/http/openapi.ts";

const OFFLINE_AFTER_SECONDS = 2;

let f: LifecycleFixture;
let dock: MqttClient;
let sub: Subscription;
const replies: Array<{ topic: string; body: any }> = [];
const deviceEvents: DeviceEvent[] = [];

before(async () => {
  f = await startLifecycleFixture({
    env: { DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS) },
  });
  dock = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `dock-test-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 5,
  });
  dock.on("message", (topic, payload) => {
    replies.push({ topic, body: JSON.parse(payload.toString()) });
  });
  sub = f.nc.subscribe("downlink.device.>");
  void (async () => {
    for await (const m of sub) deviceEvents.push(m.json<DeviceEvent>());
  })();
  await f.nc.flush();
  FormatRegistry.Set("date-time", (v) => !Number.isNaN(Date.parse(v)));
  FormatRegistry.Set("uuid", (v) => /^[0-9a-f-]{36}$/.test(v));
});

after(async () => {
  sub?.unsubscribe();
  await dock?.endAsync();
  await f?.stop();
});

function conforms(schema: TSchema, value: unknown) {
  const errors = [...Value.Errors(schema, value)].map((e) => `${e.path} ${e.message}`);
  assert.deepEqual(errors, [], JSON.stringify(value));
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 8_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function updateTopo(tid: string, subDevices: Array<Record<string, unknown>>) {
  return JSON.stringify({
    tid,
    bid: `bid-${tid}`,
    timestamp: Date.now(),
    method: "update_topo",
    data: {
      domain: "3",
      type: 2,
      sub_type: 0,
      device_secret: "secret",
      nonce: "nonce",
      thing_version: "1.2.0",
      sub_devices: subDevices,
    },
  });
}

const eventsOf = (sn: string) => deviceEvents.filter((e) => e.gateway_sn === sn);

test("update_topo is answered once, the dock and its aircraft are listed, events are in the stream, silence makes it offline", async () => {
  const sn = f.device("presence");
  // An aircraft of another partition than its dock's: its osd must still reach the dock's.
  const partitions = f.harness.config.partitions;
  let n = 0;
  while (partitionOf(f.device(`aircraft-${n}`), partitions) === partitionOf(sn, partitions)) n++;
  const aircraft = f.device(`aircraft-${n}`);
  await dock.subscribeAsync(`sys/product/${sn}/status_reply`, { qos: 1 });

  const tid = crypto.randomUUID();
  await dock.publishAsync(
    `sys/product/${sn}/status`,
    updateTopo(tid, [{
      sn: aircraft,
      domain: "0",
      type: 91,
      sub_type: 0,
      index: "A",
      device_secret: "s",
      nonce: "n",
      thing_version: "1.2.0",
    }]),
    { qos: 1 },
  );
  const reply = await until("status_reply", () => replies.find((r) => r.body.tid === tid));
  assert.equal(reply.topic, `sys/product/${sn}/status_reply`);
  assert.equal(reply.body.bid, `bid-${tid}`);
  assert.equal(reply.body.method, "update_topo");
  assert.deepEqual(reply.body.data, { result: 0 });
  assert.equal(typeof reply.body.timestamp, "number");
  // The aircraft's telemetry (over the dock's connection, naming the dock) every 300 ms keeps the
  // dock online while the test looks (a loaded machine may take longer than the delay between
  // two steps).
  const osd = () =>
    dock.publishAsync(
      `thing/product/${aircraft}/osd`,
      JSON.stringify({
        tid: "t",
        bid: "b",
        timestamp: Date.now(),
        gateway: sn,
        data: { mode_code: 0 },
      }),
    ).catch(() => {});
  const keepAlive = setInterval(osd, 300);

  // The dock as the API shows it.
  const listed = await f.http.listDevices({ device_id: sn });
  assert.equal(listed.status, 200);
  conforms(DeviceListSchema, listed.body);
  const gateway = listed.body.items.find((d) => d.device_id === sn)!;
  assert.equal(gateway.kind, "gateway");
  assert.equal(gateway.online, true);
  assert.equal(gateway.model, "DJI Dock 2");
  assert.equal(gateway.type, 2);
  assert.ok(gateway.online_since && gateway.last_seen_at);
  assert.deepEqual(gateway.sub_devices?.map((s) => [s.device_id, s.model, s.online]), [
    [aircraft, "Matrice 3D", true],
  ]);
  const plane = await f.http.getDevice(aircraft);
  assert.equal(plane.status, 200);
  conforms(DeviceViewSchema, plane.body);
  assert.equal(plane.body.kind, "aircraft");
  assert.equal(plane.body.gateway_sn, sn);
  assert.equal(plane.body.online, true);
  assert.equal((await f.http.listDevices({ device_id: sn, online: false })).body.items.length, 0);

  // Telemetry keeps it online past the delay; a state message brings its firmware version.
  await dock.publishAsync(
    `thing/product/${sn}/state`,
    JSON.stringify({
      tid: "t",
      bid: "b",
      timestamp: Date.now(),
      data: { firmware_version: "10.01.16.04" },
      gateway: sn,
    }),
    { qos: 1 },
  );
  await new Promise((r) => setTimeout(r, (OFFLINE_AFTER_SECONDS + 1) * 1_000));
  assert.equal(eventsOf(sn).some((e) => e.event_type === "device.offline"), false);
  assert.equal((await f.http.getDevice(sn)).body.firmware_version, "10.01.16.04");

  // The aircraft leaves the topology; the dock stays online.
  const tid2 = crypto.randomUUID();
  await dock.publishAsync(`sys/product/${sn}/status`, updateTopo(tid2, []), { qos: 1 });
  await until("the second status_reply", () => replies.find((r) => r.body.tid === tid2));
  const left = await f.http.getDevice(aircraft);
  assert.equal(left.body.online, false);
  assert.equal(left.body.gateway_sn, sn);
  assert.deepEqual((await f.http.getDevice(sn)).body.sub_devices, []);
  assert.equal((await f.http.getDevice(sn)).body.online, true);

  // Silence: offline after the delay.
  clearInterval(keepAlive);
  const silentFrom = Date.now();
  const offline = await until(
    "the offline event",
    () => eventsOf(sn).find((e) => e.event_type === "device.offline"),
    (OFFLINE_AFTER_SECONDS + 4) * 1_000,
  );
  assert.equal(offline.online, false);
  assert.ok(Date.now() - silentFrom >= OFFLINE_AFTER_SECONDS * 1_000 - 600, "not before the delay");
  const gone = await f.http.getDevice(sn);
  assert.equal(gone.body.online, false);
  assert.equal(gone.body.online_since, undefined);
  assert.deepEqual(
    (await f.http.listDevices({ device_id: sn, online: false })).body.items.map((d) => d.device_id),
    [sn],
  );
  assert.equal((await f.http.getDevice(aircraft)).body.online, false);

  // Each update_topo answered once (the broker delivered each once, QoS 1).
  assert.equal(replies.filter((r) => r.body.tid === tid).length, 1);
  assert.equal(replies.filter((r) => r.body.tid === tid2).length, 1);

  // The stream holds the dock's events once each, in order, with the documented payload.
  const stored = await streamEvents(f.nc, `downlink.device.${sn}.*`) as unknown as DeviceEvent[];
  assert.deepEqual(stored.map((e) => e.event_type), [
    "device.online",
    "device.topology",
    "device.topology",
    "device.topology",
    "device.offline",
  ]);
  assert.equal(new Set(stored.map((e) => e.event_id)).size, stored.length);
  const [online, topology] = stored;
  assert.deepEqual(Object.keys(topology).sort(), [
    "device_id",
    "event_id",
    "event_type",
    "gateway_sn",
    "model",
    "occurred_at",
    "online",
    "sub_devices",
  ]);
  assert.equal(online.device_id, sn);
  assert.equal(online.online, true);
  assert.deepEqual(topology.sub_devices.map((s) => s.device_id), [aircraft]);
  assert.equal(stored[2].firmware, "10.01.16.04");
  assert.deepEqual(stored[3].sub_devices, []);
});

test("a device unknown and a device not granted are the same 404 DEVICE_NOT_FOUND", async () => {
  const sn = f.device("hidden");
  await dock.publishAsync(`sys/product/${sn}/status`, updateTopo(crypto.randomUUID(), []), {
    qos: 1,
  });
  await until(
    "the device",
    async () => (await f.http.getDevice(sn)).status === 200 ? true : undefined,
  );

  const { sql, cipher } = f.harness.downlink.context;
  const { client, secret } = await createPostgresClientStore(sql, cipher).createClient({
    tenantId: `tenant_${crypto.randomUUID().slice(0, 8)}`,
    name: "other grants",
    devices: ["elsewhere-*"],
  });
  const other = createDownlinkClient({
    baseUrl: f.harness.baseUrl,
    clientId: client.client_id,
    secret,
  });
  assert.deepEqual(client.scopes.includes("open:device:read"), true);
  const notGranted = await other.getDevice(sn);
  const unknown = await f.http.getDevice(f.device("never-seen"));
  for (const res of [notGranted, unknown]) {
    assert.equal(res.status, 404);
    conforms(ErrorSchema, res.body);
    assert.equal((res.body as any).code, "DEVICE_NOT_FOUND");
  }
  assert.deepEqual((await other.listDevices({ device_id: sn })).body.items, []);
});

test("listing pages through the granted devices with a cursor", async () => {
  const prefix = f.device("page");
  for (const i of [1, 2, 3]) {
    await dock.publishAsync(
      `sys/product/${prefix}-${i}/status`,
      updateTopo(crypto.randomUUID(), []),
      { qos: 1 },
    );
  }
  await until("three devices", async () => {
    const res = await f.http.listDevices({ device_id: prefix });
    return res.body.items.length === 3 ? true : undefined;
  });
  const first = await f.http.listDevices({ device_id: prefix, limit: 2 });
  assert.deepEqual(first.body.items.map((d) => d.device_id), [`${prefix}-1`, `${prefix}-2`]);
  assert.ok(first.body.next_cursor);
  const second = await f.http.listDevices({
    device_id: prefix,
    limit: 2,
    cursor: first.body.next_cursor,
  });
  assert.deepEqual(second.body.items.map((d) => d.device_id), [`${prefix}-3`]);
  assert.equal(second.body.next_cursor, undefined);
  const bad = await f.http.request("GET", "/api/v1/open/downlink/devices?online=maybe");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details[0].path, "query.online");
});
