// A bridge never sends a command in another vendor's envelope: with roles split and the bridge
// serving fewer vendors than the API (a deployment half updated), a command of a vendor the
// bridge does not serve is not sent at all, and its deadline ends it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { vendor as dji } from "../../src/composition_root.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";

let f: LifecycleFixture;
let bridge: Harness;
let watcher: MqttClient;
const published: Array<{ topic: string; body: string }> = [];

before(async () => {
  // Commands go whatever the device's presence: no acme device says hello to a DJI-only bridge.
  f = await startLifecycleFixture({
    vendors: [dji, acmeAdapter],
    env: { DOWNLINK_ROLES: "api,shard", DOWNLINK_DELIVER_WHEN_OFFLINE: "true" },
  });
  const ns = f.harness.config.namespace;
  bridge = await startHarness({
    roles: ["bridge"],
    vendors: [dji],
    env: {
      DOWNLINK_NAMESPACE: ns,
      DOWNLINK_DB_SCHEMA: f.harness.config.dbSchema,
      DOWNLINK_DELIVER_WHEN_OFFLINE: "true",
      DOWNLINK_INSTANCE_ID: `bridge-${crypto.randomUUID().slice(0, 8)}`,
    },
  });
  watcher = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `watch-${crypto.randomUUID().slice(0, 8)}`,
  });
  watcher.on("message", (topic, bytes) => published.push({ topic, body: bytes.toString() }));
  await watcher.subscribeAsync(["thing/product/+/services", "acme/+/cmd"], { qos: 1 });
});

after(async () => {
  await watcher?.endAsync();
  await bridge?.downlink.stop();
  await f?.stop();
});

test("an acme command reaching a DJI-only bridge is not sent in DJI's envelope; it times out", async () => {
  const sn = f.device("acme");
  const id = await f.submit(sn, {
    vendor: "acme",
    command_type: "blink",
    payload: { times: 1 },
    timeout_seconds: 3,
  });

  const body = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);

  assert.equal(body.status, "TIMED_OUT");
  assert.equal(body.delivered_at, undefined, "never handed to the broker");
  assert.deepEqual(
    published.filter((m) => m.body.includes(id)).map((m) => m.topic),
    [],
    "nothing published for it, on any vendor's topic",
  );
});
