// The bridge against real NATS, Postgres and Mosquitto: a device reply goes through JetStream,
// but one that arrives while NATS is away goes to the shard of the same process, so a NATS
// outage does not make a command time out although its dock answered.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
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
  f = await startLifecycleFixture({ env: { NATS_URL: nats.url(natsUrl.href) } });
  sn = f.device("nats-outage");
  dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true });
});
after(async () => {
  await nats?.open();
  await dock?.stop();
  await f?.stop();
  await nats?.stop();
});

test("a reply that arrives while NATS is down finishes its command before NATS is back", async () => {
  const id = await f.submit(sn, { timeout_seconds: 120 });
  const delivered = await f.waitForStatus(id, ["DELIVERED"]);
  const command = dock.received.find((c) => c.tid === id)!;
  assert.ok(command, "the dock received the command");

  await nats.close();
  await dock.publish(
    `thing/product/${sn}/services_reply`,
    JSON.stringify({
      tid: id,
      bid: command.bid,
      method: "fileupload_start",
      timestamp: Date.now(),
      data: { result: 0 },
    }),
  );
  // The API answers 503 while NATS is away: read the row.
  const { sql } = f.harness.downlink.context;
  let status = "DELIVERED";
  for (let i = 0; i < 100 && status === "DELIVERED"; i++) {
    await new Promise((r) => setTimeout(r, 50));
    [{ status }] = await sql`select status from commands where command_id = ${id}`;
  }
  assert.equal(status, "SUCCEEDED", "finished while NATS was still away");
  await nats.open();

  const done = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"], 30_000);
  assert.equal(done.status, "SUCCEEDED");
  assert.equal(done.response_code, "0");
  assert.equal(done.delivered_at, delivered.delivered_at);
  // Its completed event, committed while NATS was away, is published once it is back.
  await f.waitForEvent((e) => e.command_id === id && e.event_type === "command.completed");
});
