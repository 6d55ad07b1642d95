// A bridge that died leaves its persistent reply sessions in the share group, and the broker
// goes on queueing replies there: a live bridge takes them over, so no reply is lost.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import mqtt from "mqtt";
import { SimulatedClock } from "xstate";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { startReplySessionAdoption } from "../../src/bridge/reply_session_adoption.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { REPLY_TOPICS } from "../../src/vendors/dji/envelope.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { uniqueName } from "../support/test_env.ts";
import { silentBroker } from "../support/silent_broker.ts";

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

test("an adoption whose broker never answers ends once the bridge's clock passes its bounds", async () => {
  const { nc } = f.harness.downlink.context;
  // It accepts the connection and answers nothing else: an UNSUBSCRIBE it never confirms is how a
  // connection stuck meanwhile looks to mqtt.js.
  const broker = await silentBroker();
  const clock = new SimulatedClock();
  const registryBucket = uniqueName("adopt_reg");
  const heartbeatBucket = uniqueName("adopt_beat");
  const registry = await new Kvm(nc).create(registryBucket, { history: 1 });
  await registry.put("dead", JSON.stringify({ instance: "dead", connections: 1 }));
  const counted: string[] = [];
  const adoption = await startReplySessionAdoption({
    nc,
    registryBucket,
    heartbeatBucket,
    ttlSeconds: 3,
    instanceId: "live",
    connections: 1,
    clientId: (bridge, i) => `${bridge}-replies-${i}`,
    filters: ["$share/g/thing/product/+/services_reply"],
    mqttUrl: broker.url,
    onReply: (_topic, _message, _packet, done) => done(0),
    clock,
    log: createLogger("silent"),
    count: (name) => counted.push(name),
  });
  try {
    // The bridge's time runs 100 ms per real 5 ms: its 2 s bounds on the unanswered UNSUBSCRIBE
    // and DISCONNECT pass in a fraction of the real second they would otherwise take each.
    const realLimit = Date.now() + 1_500;
    while (counted.length === 0 && Date.now() < realLimit) {
      clock.increment(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(counted, ["reply_sessions_adopted"]);
  } finally {
    await adoption.stop();
    await broker.close();
    const kvm = new Kvm(nc);
    for (const b of [registryBucket, heartbeatBucket]) await (await kvm.open(b)).destroy();
  }
});
