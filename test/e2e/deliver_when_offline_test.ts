// DOWNLINK_DELIVER_WHEN_OFFLINE=true, for a broker path that carries no presence: a command is
// published at once, whether or not its device was ever heard of, as before presence existed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";

let f: LifecycleFixture;
let listener: MqttClient | undefined;

before(async () => {
  f = await startLifecycleFixture({ env: { DOWNLINK_DELIVER_WHEN_OFFLINE: "true" } });
});

after(async () => {
  await listener?.endAsync();
  await f.stop();
});

test("with DOWNLINK_DELIVER_WHEN_OFFLINE a command to a device never seen is published at once", async () => {
  const sn = f.device("no-presence");
  const heard: string[] = [];
  listener = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `listener-${crypto.randomUUID().slice(0, 8)}`,
  });
  listener.on("message", (_t, p) => heard.push(JSON.parse(p.toString()).tid));
  await listener.subscribeAsync(`thing/product/${sn}/services`, { qos: 1 });
  const id = await f.submit(sn, { timeout_seconds: 2 });
  await f.waitForStatus(id, ["DELIVERED"]);
  const body = await f.waitForStatus(id, ["TIMED_OUT"]);
  assert.equal(
    body.failure_code,
    "DEVICE_TIMEOUT",
    "it reached the broker: no answer, not offline",
  );
  assert.deepEqual(heard, [id]);
});
