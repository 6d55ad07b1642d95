// Waiting for a command end to end: a real Downlink (api, shard, bridge) and a simulated dock
// that answers late; the wait returns when the shard publishes the completed event.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";

let f: LifecycleFixture;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture();
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f.stop();
});

test("a wait on a command returns SUCCEEDED once the dock's late reply is committed", async () => {
  const sn = f.device("late");
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0, delayMs: 1_500 }));
  const id = await f.submit(sn);
  const started = Date.now();

  const res = await f.http.request("GET", `${COMMANDS_PATH}/${id}/wait?timeout_seconds=20`);

  const ms = Date.now() - started;
  assert.equal(res.status, 200);
  assert.equal(res.body.status, "SUCCEEDED");
  assert.equal(res.body.response_code, "0");
  assert.equal(res.headers.get("x-wait-timed-out"), null);
  assert.ok(ms >= 1_000 && ms < 10_000, `took ${ms} ms`);
  assert.deepEqual(res.body, await f.get(id));
});

test("a wait on a command the dock never answers ends TIMED_OUT at the command's deadline", async () => {
  const sn = f.device("silent");
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true }));
  const id = await f.submit(sn, { timeout_seconds: 2 });

  const res = await f.http.request("GET", `${COMMANDS_PATH}/${id}/wait?timeout_seconds=20`);

  assert.equal(res.body.status, "TIMED_OUT");
  assert.equal(res.headers.get("x-wait-timed-out"), null);
});
