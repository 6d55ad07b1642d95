// A bridge that died leaves its persistent reply sessions in the share group, and the broker
// goes on queueing replies there: a live bridge takes them over, so no reply is lost.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import mqtt from "mqtt";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { REPLY_TOPICS } from "../../src/vendors/dji/envelope.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";

let f: LifecycleFixture;
let dock: DockSimulator;

before(async () => {
  f = await startLifecycleFixture({ env: { DOWNLINK_LEASE_TTL_SECONDS: "3" } });
});
after(async () => {
  await dock?.stop();
  await f?.stop();
});

/** What a bridge killed with SIGKILL leaves: its registration, no heartbeat, and persistent
 * sessions subscribed to the share group whose connections vanished without a DISCONNECT. */
async function leaveDeadBridge(instance: string, sessions: number): Promise<void> {
  const { config, names, nc } = f.harness.downlink.context;
  const registry = await new Kvm(nc).create(names.bridgeRegistryBucket, { history: 1 });
  await registry.put(instance, JSON.stringify({ instance, connections: sessions }));
  for (let i = 0; i < sessions; i++) {
    const client = await mqtt.connectAsync(config.mqttUrl, {
      clientId: `${config.namespace}-bridge-${instance}-replies-${i}`,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 60 },
      reconnectPeriod: 0,
    });
    await client.subscribeAsync(REPLY_TOPICS.map((t) => `$share/${names.mqttShareGroup}/${t}`), {
      qos: 1,
    });
    (client.stream as unknown as { destroy(): void }).destroy();
  }
}

test("replies queued for a dead bridge's sessions reach their commands", async () => {
  await leaveDeadBridge("dead-bridge", 16);
  const sn = f.device("adopted");
  dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await f.submit(sn, { timeout_seconds: 15 }));
  const ended = await Promise.all(
    ids.map((id) => f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"], 20_000)),
  );
  assert.deepEqual(ended.map((c) => c.status), ids.map(() => "SUCCEEDED"));
  const adopted = async () =>
    /downlink_bridge_reply_sessions_adopted_total 1/.test(
      await (await fetch(`${f.harness.baseUrl}/metrics`)).text(),
    );
  for (let i = 0; i < 50 && !(await adopted()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await adopted(), "the dead bridge's sessions were taken over once");
});
