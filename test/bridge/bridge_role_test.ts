// The in-process link's way around a NATS outage (DOWNLINK_LINK=local), against real NATS,
// Postgres and Mosquitto: a device reply of a partition this process hosts goes to the shard next
// door when JetStream cannot take it, so a NATS outage does not make a command time out although
// its dock answered. (With NATS up the reply travels as a JetStream message: lifecycle_test covers
// that path. The JetStream link, the default, has no way around: the reply waits for NATS.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import { loadConfig } from "../../src/runtime/config.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.ts";
import { testEnv } from "../support/test_env.ts";

let f: LifecycleFixture;
let nats: TcpProxy;
let dock: DockSimulator;
let sn: string;

before(async () => {
  const natsUrl = new URL(loadConfig(testEnv()).natsUrl.split(",")[0]);
  nats = await startTcpProxy(natsUrl.hostname, Number(natsUrl.port || 4222));
  f = await startLifecycleFixture({
    env: { NATS_URL: nats.url(natsUrl.href), DOWNLINK_LINK: "local" },
  });
  sn = f.device("nats-outage");
  dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true });
});
after(async () => {
  await nats?.open();
  await dock?.stop();
  await f?.stop();
  await nats?.stop();
});

/** Resolves at the connection's next status event of `type`; call it before causing it. */
async function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const s of nc.status()) if (s.type === type) return;
}

/** A delivered command of the silent dock and the reply the dock will give it. */
async function deliveredCommand() {
  const id = await f.submit(sn, { timeout_seconds: 120 });
  const delivered = await f.waitForStatus(id, ["DELIVERED"]);
  const command = dock.received.find((c) => c.tid === id);
  assert.ok(command, "the dock received the command");
  const reply = () =>
    dock.publish(
      `thing/product/${sn}/services_reply`,
      JSON.stringify({
        tid: id,
        bid: command.bid,
        method: "fileupload_start",
        timestamp: Date.now(),
        data: { result: 0 },
      }),
    );
  return { id, delivered, reply };
}

/** The command's status in Postgres once it leaves DELIVERED, or DELIVERED after `ms` (the API
 * answers 503 while NATS is away, so the row is read). */
async function statusLeavingDelivered(id: string, ms: number): Promise<string> {
  const { sql } = f.harness.downlink.context;
  const deadline = Date.now() + ms;
  for (;;) {
    const [{ status }] = await sql<{ status: string }[]>`
      select status from commands where command_id = ${id}`;
    if (status !== "DELIVERED" || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("a reply that arrives while NATS is down goes to the shard next door at once", async () => {
  const { id, delivered, reply } = await deliveredCommand();
  const { nc } = f.harness.downlink.context;
  const down = nextStatus(nc, "disconnect");
  await nats.close();
  await down;
  const up = nextStatus(nc, "reconnect");
  try {
    await reply();
    // Well within the JetStream publish timeout (5 s): the reply was not first tried on NATS.
    assert.equal(await statusLeavingDelivered(id, 2_000), "SUCCEEDED", "finished while away");
  } finally {
    await nats.open();
  }
  await up;

  const done = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);
  assert.equal(done.status, "SUCCEEDED");
  assert.equal(done.response_code, "0");
  assert.equal(done.delivered_at, delivered.delivered_at);
  // Its completed event, committed while NATS was away, is published once it is back.
  await f.waitForEvent((e) => e.command_id === id && e.event_type === "command.completed");
});

test("a reply JetStream does not acknowledge, its connection still up, goes to the shard next door", async () => {
  const { id, reply } = await deliveredCommand();
  // A partition: the connection looks up, the publish gets no acknowledgement.
  await nats.blackhole();
  try {
    await reply();
    assert.equal(await statusLeavingDelivered(id, 15_000), "SUCCEEDED", "finished while cut off");
  } finally {
    await nats.open();
  }
  const done = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);
  assert.equal(done.status, "SUCCEEDED");
  assert.equal(done.response_code, "0");
});
