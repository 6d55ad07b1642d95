// One job per class from outside, as issue 14 checks it: a Downlink process started for the test
// on a Mosquitto of its own, a dock played with the mosquitto_pub / mosquitto_sub binaries, two
// remote-debug jobs sent over the signed API. The second reaches the dock's services topic only
// after the dock published the first job's terminal progress on its events topic.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { seedCommand } from "../support/api_fixtures.ts";
import { type BlackBox, type DockEar, startBlackBox, until } from "../support/black_box.ts";

const sn = `bb-dock-${crypto.randomUUID().slice(0, 8)}`;

let bb: BlackBox;
let http: DownlinkClient;
/** What the dock hears: its status_reply and services topics. */
let ear: DockEar;

before(async () => {
  bb = await startBlackBox({ DOWNLINK_HOLD_BY_CLASS: "true" });
  const client = JSON.parse(
    await bb.cli([
      ...["client", "create", "--tenant", `bb_${crypto.randomUUID().slice(0, 8)}`],
      ...["--name", "black box", "--devices", "bb-dock-*"],
    ]),
  );
  http = createDownlinkClient({
    baseUrl: bb.baseUrl,
    clientId: client.client_id,
    secret: client.secret,
  });
  ear = await bb.listen([`sys/product/${sn}/status_reply`, `thing/product/${sn}/services`]);
});

after(async () => {
  await bb?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pub = (topic: string, body: unknown) => bb.pub(topic, body);

const services = () => ear.heard.filter((h) => h.topic === `thing/product/${sn}/services`);

async function command(id: string): Promise<Record<string, any>> {
  return (await http.getCommand(id)).body as Record<string, any>;
}

async function send(command_type: string): Promise<string> {
  const res = await http.createCommand(
    seedCommand({ device_id: sn, command_type, payload: {}, timeout_seconds: 60 }) as never,
  );
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return (res.body as { command_id: string }).command_id;
}

/** The dock's answer to a command it received: result 0, the job started. */
async function reply(received: { body: any }): Promise<void> {
  await pub(`thing/product/${sn}/services_reply`, {
    tid: received.body.tid,
    bid: received.body.bid,
    method: received.body.method,
    timestamp: Date.now(),
    gateway: sn,
    data: { result: 0 },
  });
}

/** A remote-debug job's progress as DJI documents it: the job's method on events, its bid. */
async function progress(received: { body: any }, status: string, percent: number): Promise<void> {
  await pub(`thing/product/${sn}/events`, {
    tid: crypto.randomUUID(),
    bid: received.body.bid,
    timestamp: Date.now(),
    gateway: sn,
    need_reply: 0,
    method: received.body.method,
    data: { result: 0, output: { status, progress: { percent, step_key: "open_cover" } } },
  });
}

test("two remote-debug jobs to a dock played with mosquitto_pub/sub: the second comes after the first's progress finished", async () => {
  await pub(`sys/product/${sn}/status`, {
    tid: "topo-1",
    bid: "bid-topo-1",
    timestamp: Date.now(),
    method: "update_topo",
    data: {
      domain: "3",
      type: 2,
      sub_type: 0,
      device_secret: "s",
      nonce: "n",
      thing_version: "1.2.0",
      sub_devices: [],
    },
  });
  await until("status_reply", () => ear.heard.find((h) => h.body.tid === "topo-1"));

  const first = await send("cover_open");
  const second = await send("cover_close");
  const atDock = await until("cover_open at the dock", () => services()[0]);
  assert.equal(atDock.body.tid, first);
  assert.equal(atDock.body.method, "cover_open");
  await reply(atDock);
  await progress(atDock, "in_progress", 40);
  await until("the first job's progress", async () => {
    const c = await command(first);
    return c.status === "SUCCEEDED" && c.progress?.status === "in_progress" ? c : undefined;
  });
  // The first job runs: the second waits, unpublished.
  await sleep(1_500);
  assert.deepEqual(services().map((h) => h.body.method), ["cover_open"]);
  assert.equal((await command(second)).status, "ACCEPTED");

  const endPublished = Date.now();
  await progress(atDock, "ok", 100);
  const next = await until("cover_close at the dock", () => services()[1]);
  assert.equal(next.body.tid, second);
  assert.equal(next.body.method, "cover_close");
  assert.ok(next.at >= endPublished, "published only after the first job's end");
  const firstDone = await command(first);
  assert.equal(firstDone.progress.status, "ok");
  assert.ok(firstDone.progress.finished_at);

  await reply(next);
  const done = await until("the second job SUCCEEDED", async () => {
    const c = await command(second);
    return c.status === "SUCCEEDED" ? c : undefined;
  });
  assert.ok(done.delivered_at);
  assert.ok(Date.parse(done.delivered_at) >= Date.parse(firstDone.progress.finished_at));
  assert.equal(services().length, 2, "each job published once");
});
