// One job per class on a dock, end to end (issue 14 item 4): simulated docks that report their
// jobs' progress and refuse a second job of a class with DJI's busy code (514116 for the
// remote-debug jobs) while one runs. With the hold, the second job reaches the dock only after
// the first's terminal progress and succeeds; commands of other classes and classless ones go
// past it; a held command whose deadline passes ends TIMED_OUT; a job running across a restart
// still holds its class. Without it, the dock refuses the second job.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { uniqueName } from "../support/harness.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { seedCommand } from "../support/api_fixtures.ts";

const HOLD = { DOWNLINK_HOLD_BY_CLASS: "true" };
let f: LifecycleFixture;
const docks: DockSimulator[] = [];
const fixtures: LifecycleFixture[] = [];

before(async () => {
  f = await startLifecycleFixture({ env: HOLD });
  fixtures.push(f);
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  for (const x of fixtures) await x.stop().catch(() => {});
});

/** A dock that answers result 0, reports each job's progress (`steps` reports `intervalMs`
 * apart, then the end) and refuses a second job of a running job's class with 514116. */
async function busyDock(mqttUrl: string, sn: string, intervalMs: number): Promise<DockSimulator> {
  const d = await createDockSimulator({
    mqttUrl,
    sn,
    result: 0,
    progress: { steps: 2, intervalMs },
    busyCode: 514116,
  });
  docks.push(d);
  await d.answered();
  return d;
}

const CAMERA_AIM = {
  command_type: "camera_aim",
  payload: { payload_index: "39-0-7", camera_type: "wide", locked: true, x: 0.5, y: 0.5 },
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const finished = (get: (id: string) => Promise<Record<string, any>>, id: string) =>
  until(`the end of ${id}'s job`, async () => {
    const b = await get(id);
    return b.progress?.finished_at ? b : undefined;
  });

test("a second remote-debug job reaches the dock only after the first's progress finished; others go past it", async () => {
  const sn = f.device("two-jobs");
  const dock = await busyDock(f.mqttUrl, sn, 1_000);
  const first = await f.submit(sn, {
    command_type: "cover_open",
    payload: {},
    timeout_seconds: 30,
  });
  const second = await f.submit(sn, {
    command_type: "cover_close",
    payload: {},
    timeout_seconds: 30,
  });
  const classless = await f.submit(sn, { ...CAMERA_AIM, timeout_seconds: 30 });
  const otherClass = await f.submit(sn, { timeout_seconds: 30 }); // fileupload_start: log_upload

  // The classless command and the upload finish while the first job still runs; the second
  // job waits, ACCEPTED.
  await f.waitForStatus(classless, ["SUCCEEDED"]);
  await f.waitForStatus(otherClass, ["SUCCEEDED"]);
  const meanwhile = await f.get(first);
  assert.equal(meanwhile.status, "SUCCEEDED", "its reply said the job started");
  assert.equal(meanwhile.progress?.finished_at, undefined, "the first job still runs");
  assert.equal((await f.get(second)).status, "ACCEPTED");

  const firstDone = await finished(f.get, first);
  const secondDone = await f.waitForStatus(second, ["SUCCEEDED", "FAILED"]);
  assert.equal(secondDone.status, "SUCCEEDED", JSON.stringify(secondDone));
  assert.equal(firstDone.progress.status, "ok");

  // What the dock received, in order: the second job last, after the first job's end.
  assert.deepEqual(dock.received.map((c) => c.tid), [first, classless, otherClass, second]);
  const secondAt = dock.received[3].received_at;
  assert.ok(
    secondAt >= Date.parse(firstDone.progress.finished_at),
    `second job received at ${new Date(secondAt).toISOString()}, ` +
      `first job finished at ${firstDone.progress.finished_at}`,
  );
  const metrics = await (await fetch(`${f.harness.baseUrl}/metrics`)).text();
  assert.match(metrics, /^downlink_shard_commands_held_by_class_total [1-9]\d*$/m);
});

test("without the hold the dock refuses the second remote-debug job with its busy code", async () => {
  const off = await startLifecycleFixture({ env: { DOWNLINK_HOLD_BY_CLASS: "false" } });
  fixtures.push(off);
  const sn = off.device("no-hold");
  const dock = await busyDock(off.mqttUrl, sn, 400);
  const first = await off.submit(sn, { command_type: "device_reboot", payload: {} });
  const second = await off.submit(sn, { command_type: "device_reboot", payload: {} });
  const refused = await off.waitForStatus(second, ["SUCCEEDED", "FAILED"]);
  assert.equal(refused.status, "FAILED");
  assert.equal(refused.response_code, "514116");
  assert.match(refused.failure_reason, /^514116: .*executing other command/);
  assert.equal((await off.waitForStatus(first, ["SUCCEEDED"])).status, "SUCCEEDED");
  assert.deepEqual(dock.received.map((c) => c.tid), [first, second]);
});

test("a held command whose deadline passes ends TIMED_OUT, never sent, naming the job it waited for", async () => {
  const sn = f.device("held-timeout");
  // The first job runs about 9 s.
  const dock = await busyDock(f.mqttUrl, sn, 3_000);
  const first = await f.submit(sn, {
    command_type: "cover_open",
    payload: {},
    timeout_seconds: 30,
  });
  const held = await f.submit(sn, { command_type: "cover_close", payload: {}, timeout_seconds: 2 });
  const done = await f.waitForStatus(held, ["TIMED_OUT", "SUCCEEDED", "FAILED"], 8_000);
  assert.equal(done.status, "TIMED_OUT");
  assert.equal(done.failure_code, "DEVICE_TIMEOUT");
  assert.equal(
    done.failure_reason,
    `never sent: held behind command ${first} of class remote_debug ` +
      "(the dock runs one such job at a time) until the deadline",
  );
  assert.equal(done.delivered_at, undefined);
  assert.deepEqual(dock.received.map((c) => c.tid), [first]);
  const metrics = await (await fetch(`${f.harness.baseUrl}/metrics`)).text();
  assert.match(metrics, /^downlink_shard_commands_held_timed_out_total [1-9]\d*$/m);
});

test("a job running when Downlink restarts still holds its class after the restart", async () => {
  const namespace = uniqueName();
  const env = { ...HOLD, DOWNLINK_NAMESPACE: namespace, DOWNLINK_DB_SCHEMA: namespace };
  const old = await startLifecycleFixture({ env });
  const sn = old.device("restart");
  // The job ends about 12 s after its reply: well after the restart.
  const dock = await busyDock(old.mqttUrl, sn, 4_000);
  const first = await old.submit(sn, {
    command_type: "cover_open",
    payload: {},
    timeout_seconds: 60,
  });
  await old.waitForStatus(first, ["SUCCEEDED"]);
  await old.harness.downlink.stop();
  await old.nc.close();

  const restarted = await startLifecycleFixture({ env });
  fixtures.push(restarted);
  // A client of the first tenant, granted this dock: it sends the second job and reads both.
  const { sql, cipher } = restarted.harness.downlink.context;
  const { client, secret } = await createPostgresClientStore(sql, cipher).createClient({
    tenantId: old.tenant_id,
    name: "restart",
    devices: [sn],
  });
  const http: DownlinkClient = createDownlinkClient({
    baseUrl: restarted.harness.baseUrl,
    clientId: client.client_id,
    secret,
  });
  const get = async (id: string) => (await http.getCommand(id)).body as Record<string, any>;
  assert.equal((await get(first)).progress?.finished_at, undefined, "the first job still runs");
  const res = await http.createCommand(
    seedCommand({
      device_id: sn,
      command_type: "cover_close",
      payload: {},
      timeout_seconds: 60,
    }) as never,
  );
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const second = (res.body as { command_id: string }).command_id;
  const firstDone = await finished(get, first);
  const secondDone = await until("the second job's reply", async () => {
    const b = await get(second);
    return b.status === "ACCEPTED" || b.status === "DELIVERED" ? undefined : b;
  });
  assert.equal(secondDone.status, "SUCCEEDED", JSON.stringify(secondDone));
  assert.deepEqual(dock.received.map((c) => c.tid), [first, second]);
  assert.ok(dock.received[1].received_at >= Date.parse(firstDone.progress.finished_at));
});
