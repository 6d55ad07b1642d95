// Shard and bridge in different processes meet only in JetStream: commands reach the bridge
// through the bridge stream, delivered and reply facts come back through the shard stream, as
// they do in one process with the default link (link_choice_test).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { type Downlink, startDownlink } from "../../src/composition_root.ts";
import { createLogger } from "../../src/runtime/log.ts";

let f: LifecycleFixture;
let bridge: Downlink;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture({ env: { DOWNLINK_ROLES: "api,shard" } });
  const config = {
    ...f.harness.config,
    roles: new Set(["bridge"] as const),
    instanceId: `${f.harness.config.instanceId}-bridge`,
  };
  bridge = await startDownlink(config, { log: createLogger(config.logLevel, { role: "bridge" }) });
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await bridge?.stop();
  await f.stop();
});

test("a command crosses to a bridge in another process and back, in order", async () => {
  const sn = f.device("split");
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, sns: [sn], result: 0 });
  docks.push(d);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await f.submit(sn));
  for (const id of ids) {
    const body = await f.waitForStatus(id, ["SUCCEEDED"]);
    assert.equal(body.vendor_response.tid, id);
  }
  assert.deepEqual(d.received.map((c) => c.tid), ids);
});

test("a silent device's command still times out at its deadline", async () => {
  const sn = f.device("split-silent");
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true });
  docks.push(d);
  // Its update_topo crossed to the shard through JetStream: the shard knows it online.
  await d.answered();
  const id = await f.submit(sn, { timeout_seconds: 1 });
  const body = await f.waitForStatus(id, ["TIMED_OUT"], 10_000);
  assert.equal(body.status, "TIMED_OUT");
  assert.equal(body.failure_code, "DEVICE_TIMEOUT");
  assert.equal(d.received.filter((c) => c.tid === id).length, 1, "it reached the dock");
});

test("a command to a device never seen waits until the bridge process hears its dock, then goes", async () => {
  const sn = f.device("split-newcomer");
  const id = await f.submit(sn, { timeout_seconds: 30 });
  const waiting = await f.get(id);
  assert.equal(waiting.status, "ACCEPTED");
  // The dock's update_topo reaches only the bridge; the shard learns of it through JetStream.
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0 });
  docks.push(d);
  const done = await f.waitForStatus(id, ["SUCCEEDED"], 15_000);
  assert.ok(done.delivered_at, "delivered once the dock was online");
  assert.deepEqual(d.received.map((c) => c.tid), [id]);
});
