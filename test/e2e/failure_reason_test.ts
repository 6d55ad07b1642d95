// Why a command failed, end to end: a dock answers a remote-debug job with DJI's "busy" code
// 514116 and the caller reads DJI's documented text for it wherever the command is shown.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";

const BUSY_TEXT =
  "514116: Unable to perform operation. Dock is executing other command. Try again later";

let f: LifecycleFixture;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture();
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f.stop();
});

test("a dock answering 514116 fails the command with DJI's text in query, list and event", async () => {
  const sn = f.device("busy");
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 514116 }));
  const id = await f.submit(sn, { command_type: "cover_open", payload: {} });

  const body = await f.waitForStatus(id, ["FAILED"]);
  // The seed's contract is unchanged: the code says a device failure, the reply's result is kept.
  assert.equal(body.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(body.response_code, "514116");
  assert.equal(body.failure_reason, BUSY_TEXT);

  const list = await f.http.request<{ items: Record<string, any>[] }>(
    "GET",
    `/api/v1/open/downlink/commands?device_id=${encodeURIComponent(sn)}`,
  );
  assert.equal(list.status, 200);
  const listed = list.body.items.find((c) => c.command_id === id);
  assert.equal(listed?.failure_reason, BUSY_TEXT);

  const completed = await f.waitForEvent((e) =>
    e.command_id === id && e.event_type === "command.completed"
  );
  assert.equal(completed.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(completed.failure_reason, BUSY_TEXT);
});

test("an undocumented code of a documented module names the module", async () => {
  const sn = f.device("undocumented");
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 324999 }));
  const id = await f.submit(sn);
  const body = await f.waitForStatus(id, ["FAILED"]);
  assert.equal(body.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(body.failure_reason, "324999: undocumented result code of DJI's remote log module");
});

test("a second remote-debug job sent while one runs fails on a busy dock with DJI's text", async () => {
  // Downlink does not hold a job of a busy class yet (issue 14 item 4): the dock refuses it,
  // and the caller reads why.
  const sn = f.device("busy-class");
  docks.push(
    await createDockSimulator({
      mqttUrl: f.mqttUrl,
      sn,
      result: 0,
      progress: { steps: 3, intervalMs: 400 },
      busyCode: 514116,
    }),
  );
  const first = await f.submit(sn, { command_type: "cover_open", payload: {} });
  await f.waitForStatus(first, ["SUCCEEDED"]);
  const second = await f.submit(sn, { command_type: "drone_open", payload: {} });
  const body = await f.waitForStatus(second, ["FAILED"]);
  assert.equal(body.failure_reason, BUSY_TEXT);
  // A command of no class is not refused meanwhile.
  const light = await f.submit(sn, { command_type: "supplement_light_open", payload: {} });
  assert.equal((await f.waitForStatus(light, ["SUCCEEDED", "FAILED"])).status, "SUCCEEDED");
});
