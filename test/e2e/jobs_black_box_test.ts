// Long jobs from outside, as issue 14 checks them: a Downlink process on a Mosquitto of its own,
// docks played with mosquitto_pub / mosquitto_sub, commands sent over the signed API, and the
// public events read back from the stream. The seed's fileupload_start with two files reports
// its progress on `events` (PROTOCOL §3.5), linked by the files' keys or by the command's bid
// reused; an event asking for an answer gets exactly one events_reply, one that does not gets
// none (§2.3); a job refused with DJI's busy code reads DJI's text in failure_reason.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import { loadConfig } from "../../src/runtime/config.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { SEED_COMMAND } from "../../src/vendors/dji/seed_command.ts";
import { type BlackBox, type DockEar, startBlackBox, until } from "../support/black_box.ts";
import { streamEvents } from "../support/stream_events.ts";
import { openNats } from "../../src/composition_root.ts";

const PREFIX = `bbj-${crypto.randomUUID().slice(0, 8)}`;
const tenant = `bbj_${crypto.randomUUID().slice(0, 8)}`;
const BUSY_TEXT =
  "514116: Unable to perform operation. Dock is executing other command. Try again later";

let bb: BlackBox;
let http: DownlinkClient;
let nc: NatsConnection;
/** Every dock of this file listens here: services, events_reply and status_reply. */
let ear: DockEar;

before(async () => {
  // A dock of this file says nothing between its steps for a while: it stays online meanwhile.
  bb = await startBlackBox({ DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: "600" });
  const created = JSON.parse(
    await bb.cli([
      ...["client", "create", "--tenant", tenant, "--name", "jobs black box"],
      ...["--devices", `${PREFIX}-*`],
    ]),
  );
  http = createDownlinkClient({
    baseUrl: bb.baseUrl,
    clientId: created.client_id,
    secret: created.secret,
  });
  ear = await bb.listen([
    "thing/product/+/services",
    "thing/product/+/events_reply",
    "sys/product/+/status_reply",
  ]);
  nc = await openNats(loadConfig(bb.env).natsUrl, "jobs-black-box");
});

after(async () => {
  await nc?.close();
  await bb?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The dock's clock: each message it sends is 100 ms after the one before. */
let dockClock = Date.now();
const stamp = () => (dockClock = Math.max(dockClock + 100, Date.now()));

/** A dock announces itself (update_topo, answered by status_reply): Downlink holds commands to a
 * gateway it has not heard from. */
async function online(sn: string): Promise<void> {
  const tid = crypto.randomUUID();
  await bb.pub(`sys/product/${sn}/status`, {
    tid,
    bid: crypto.randomUUID(),
    timestamp: stamp(),
    method: "update_topo",
    data: {
      domain: "3",
      type: 2,
      sub_type: 0,
      device_secret: "s",
      nonce: "n",
      thing_version: "1.2.0",
      sub_devices: [{ sn: `${sn}-uav`, domain: "0", type: 91, sub_type: 0, index: "A" }],
    },
  });
  await until("status_reply", () => ear.heard.find((h) => h.body.tid === tid));
}

/** POST /commands; resolves with the command id. */
async function send(sn: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await http.createCommand({
    ...SEED_COMMAND,
    device_id: sn,
    idempotency_key: `bbj-${crypto.randomUUID()}`,
    timeout_seconds: 60,
    ...overrides,
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return (res.body as { command_id: string }).command_id;
}

/** The command as it reached the dock's services topic. */
const atDock = (sn: string, id: string) =>
  until(
    `command ${id} at ${sn}`,
    () => ear.heard.find((h) => h.topic === `thing/product/${sn}/services` && h.body.tid === id),
  );

/** The dock's services_reply to `command` with `result`. */
async function answer(sn: string, command: { body: any }, result: number): Promise<void> {
  await bb.pub(`thing/product/${sn}/services_reply`, {
    tid: command.body.tid,
    bid: command.body.bid,
    method: command.body.method,
    timestamp: stamp(),
    gateway: sn,
    data: { result },
  });
}

const get = async (id: string) => (await http.getCommand(id)).body as Record<string, any>;

const statusOf = (id: string, status: string) =>
  until(`${id} ${status}`, async () => {
    const body = await get(id);
    return body.status === status ? body : undefined;
  });

/** The seed's fileupload_start with two files: the aircraft's log (module 0), the dock's (3). */
function twoFiles(keys: [string, string]) {
  return {
    payload: {
      ...SEED_COMMAND.payload,
      params: {
        files: [
          { list: [{ boot_index: 11 }], module: "0", object_key: keys[0] },
          { list: [{ boot_index: 12 }], module: "3", object_key: keys[1] },
        ],
      },
    },
  };
}

/**
 * An upload's reports, one per overall status, as PROTOCOL §3.5 shows them: the aircraft's file
 * with its percent only, the dock's with its steps (percent ((step - 1) * 100 + progress) /
 * total_step), both at the same overall percent, which is their mean.
 */
const STEPS = [
  { status: "file_pull", air: { progress: 20 }, dock: { current_step: 1, progress: 60 }, pct: 20 },
  { status: "file_zip", air: { progress: 50 }, dock: { current_step: 2, progress: 50 }, pct: 50 },
  {
    status: "file_uploading",
    air: { progress: 80 },
    dock: { current_step: 3, progress: 40 },
    pct: 80,
  },
  { status: "ok", air: { progress: 100 }, dock: { current_step: 3, progress: 100 }, pct: 100 },
] as const;
const TOTAL_STEPS = 3;
const SIZES = [155232, 20480];

/** One fileupload_progress as the dock sends it. `named`: each file carries its key (and what
 * is known of the archive: size, fingerprint); a dock still pulling logs may not. */
function progressReport(
  sn: string,
  o: { bid: string; step: typeof STEPS[number]; keys: [string, string]; named: boolean },
) {
  const finished = o.step.status === "ok";
  const file = (i: 0 | 1) => ({
    device_sn: i === 0 ? `${sn}-uav` : sn,
    module: i === 0 ? "0" : "3",
    ...(o.named ? { key: o.keys[i], fingerprint: `fp-${i}`, size: SIZES[i] } : {}),
    progress: {
      ...(i === 0 ? o.step.air : { ...o.step.dock, total_step: TOTAL_STEPS }),
      upload_rate: 0,
      result: 0,
      status: o.step.status,
      // Sent as the last file finishes: the report's own time.
      ...(finished ? { finish_time: dockClock } : {}),
    },
  });
  return {
    tid: crypto.randomUUID(),
    bid: o.bid,
    timestamp: stamp(),
    gateway: sn,
    need_reply: 0,
    method: "fileupload_progress",
    data: { result: 0, output: { status: o.step.status, ext: { files: [file(0), file(1)] } } },
  };
}

/** The command.progress events of `id` in the stream, in stream order. */
const progressEvents = async (id: string) =>
  (await streamEvents(nc, `tenant.${tenant}.command.progress`)).filter((e) => e.command_id === id);

/**
 * Plays an upload's four reports to the command `id` and checks, after each, the Query Response's
 * progress, that a wait ?until=finished started before the reply answers only after the last
 * (terminal) report, and the command.progress events in the stream. `named(i)`: whether report
 * i names its files' keys.
 */
async function playUpload(
  sn: string,
  id: string,
  o: { bid: string; keys: [string, string]; named: (i: number) => boolean; waiting: Waiting },
): Promise<void> {
  const topic = `thing/product/${sn}/events`;
  let terminalSentAt = Infinity;
  for (const [i, step] of STEPS.entries()) {
    const last = i === STEPS.length - 1;
    if (last) terminalSentAt = Date.now();
    const report = progressReport(sn, { ...o, step, named: o.named(i) });
    await bb.pub(topic, report);
    const p = await until(`progress ${step.status}`, async () => {
      const progress = (await get(id)).progress;
      return progress?.status === step.status ? progress : undefined;
    });
    assert.equal(p.percent, step.pct, `percent at ${step.status}`);
    assert.equal(p.result, 0);
    assert.equal(p.detail.files.length, 2);
    if (!last) {
      assert.equal(p.finished_at, undefined, `${step.status} does not end the job`);
      assert.equal(o.waiting.answeredAt, undefined, `the wait goes on past ${step.status}`);
      continue;
    }
    assert.ok(p.finished_at, "ok ends the job");
    assert.ok(Date.parse(p.finished_at) >= Date.parse(p.updated_at) - 1);
    // The Query Response's detail: each file as the dock last described it, with its percent.
    assert.deepEqual(
      p.detail.files,
      [0, 1].map((f) => ({
        device_sn: f === 0 ? `${sn}-uav` : sn,
        module: f === 0 ? "0" : "3",
        key: o.keys[f],
        fingerprint: `fp-${f}`,
        size: SIZES[f],
        percent: 100,
        status: "ok",
        result: 0,
        finish_time: report.timestamp,
        ...(f === 1 ? { current_step: 3, total_step: TOTAL_STEPS } : {}),
      })),
    );
  }

  // The wait ?until=finished answered with the job's end, and only after it was reported.
  const waited = await o.waiting.answer;
  assert.equal(waited.status, 200);
  assert.equal(waited.headers.get("X-Wait-Timed-Out"), null);
  assert.equal(waited.body.status, "SUCCEEDED");
  assert.equal(waited.body.progress?.status, "ok");
  assert.ok(waited.body.progress?.finished_at);
  assert.ok(o.waiting.answeredAt! >= terminalSentAt, "answered after the terminal report");
  // Woken by the job's end, not by its 60 s timeout (when it would find the job finished too).
  assert.ok(o.waiting.answeredAt! - terminalSentAt < 10_000, "answered at the job's end");

  // command.progress: one per report (each changes the status), in order, none twice.
  const events = await until("four command.progress events", async () => {
    const got = await progressEvents(id);
    return got.length >= STEPS.length ? got : undefined;
  });
  assert.deepEqual(events.map((e) => e.progress?.status), STEPS.map((s) => s.status));
  assert.deepEqual(events.map((e) => e.progress?.percent), STEPS.map((s) => s.pct));
  assert.equal(new Set(events.map((e) => e.event_id)).size, STEPS.length, "no event twice");
  assert.deepEqual(
    events.map((e) => e.progress?.finished_at !== undefined),
    [false, false, false, true],
  );
  for (const e of events) {
    assert.equal(e.event_type, "command.progress");
    assert.equal(e.tenant_id, tenant);
    assert.equal(e.device_id, sn);
    assert.equal(e.status, "SUCCEEDED");
  }
  assert.equal(events[3].progress?.finished_at, waited.body.progress.finished_at);
}

interface Waiting {
  answer: Promise<{ status: number; headers: Headers; body: any }>;
  answeredAt?: number;
}

/** GET .../wait?until=finished, started now; notes when it answers. */
function waitFinished(id: string): Waiting {
  const waiting: Waiting = {
    answer: http.request(
      "GET",
      `/api/v1/open/downlink/commands/${id}/wait?until=finished&timeout_seconds=60`,
    ),
  };
  void waiting.answer.then(() => (waiting.answeredAt = Date.now()));
  return waiting;
}

test("a two-file upload whose dock names the files by key: progress, wait ?until=finished, command.progress", async () => {
  const sn = `${PREFIX}-keys`;
  await online(sn);
  const run = crypto.randomUUID();
  const keys: [string, string] = [`logs/${run}/aircraft.tar`, `logs/${run}/dock.tar`];
  const id = await send(sn, twoFiles(keys));
  // A later upload on the same dock: the reports name the first one's files, so they are its.
  const otherKeys: [string, string] = [`logs/${run}/other-0.tar`, `logs/${run}/other-3.tar`];
  const other = await send(sn, twoFiles(otherKeys));
  const waiting = waitFinished(id);

  // The dock receives the seed's fileupload_start with the two object keys, and accepts it.
  const command = await atDock(sn, id);
  assert.equal(command.body.method, "fileupload_start");
  assert.deepEqual(command.body.data.params.files.map((f: any) => [f.module, f.object_key]), [
    ["0", keys[0]],
    ["3", keys[1]],
  ]);
  assert.equal(command.body.data.bucket, SEED_COMMAND.payload.bucket);
  assert.deepEqual(command.body.data.credentials, SEED_COMMAND.payload.credentials);
  await answer(sn, command, 0);
  await answer(sn, await atDock(sn, other), 0);
  const replied = await statusOf(id, "SUCCEEDED");
  await statusOf(other, "SUCCEEDED");
  assert.equal(replied.progress, undefined, "no progress before the dock reports any");
  // The reply only said the upload started: the wait for its end goes on.
  await sleep(300);
  assert.equal(waiting.answeredAt, undefined, "SUCCEEDED does not end a wait ?until=finished");

  // The dock's reports carry a bid of its own: only the files' keys link them.
  const bid = crypto.randomUUID();
  assert.notEqual(bid, command.body.bid);
  await playUpload(sn, id, { bid, keys, named: () => true, waiting });

  assert.equal((await get(other)).progress, undefined, "the other upload heard nothing");
  assert.deepEqual(await progressEvents(other), []);
  // The list shows the same progress.
  const list = await http.request(
    "GET",
    `/api/v1/open/downlink/commands?device_id=${encodeURIComponent(sn)}`,
  );
  const listed = list.body.items.find((c: any) => c.command_id === id);
  assert.equal(listed?.progress?.status, "ok");
  assert.equal(listed?.progress?.percent, 100);
});

test("a two-file upload whose dock reuses the command's bid: linked before it names any file", async () => {
  const sn = `${PREFIX}-bid`;
  await online(sn);
  const run = crypto.randomUUID();
  const keys: [string, string] = [`logs/${run}/aircraft.tar`, `logs/${run}/dock.tar`];
  const id = await send(sn, twoFiles(keys));
  const waiting = waitFinished(id);
  const command = await atDock(sn, id);
  await answer(sn, command, 0);
  await statusOf(id, "SUCCEEDED");

  // While it pulls the logs the dock names no file key (DOC's table documents only progress,
  // finish_time and upload_rate): the command's bid, which it reuses, is the only link then.
  await playUpload(sn, id, {
    bid: command.body.bid,
    keys,
    named: (i) => i > 0,
    waiting,
  });
  const first = (await progressEvents(id))[0];
  assert.deepEqual(
    first.progress?.detail?.files,
    [{ device_sn: `${sn}-uav`, module: "0" }, { device_sn: sn, module: "3" }].map((f, i) => ({
      ...f,
      percent: 20,
      status: "file_pull",
      result: 0,
      ...(i === 1 ? { current_step: 1, total_step: TOTAL_STEPS } : {}),
    })),
  );
});

test("need_reply 1 gets exactly one events_reply echoing tid, bid and method; need_reply 0 none", async () => {
  const sn = `${PREFIX}-events`;
  await online(sn);
  const topic = `thing/product/${sn}/events`;
  const answers = (tid: string) =>
    ear.heard.filter((h) => h.topic === `thing/product/${sn}/events_reply` && h.body.tid === tid);
  const event = (method: string, needReply: 0 | 1, data: unknown) => ({
    tid: crypto.randomUUID(),
    bid: crypto.randomUUID(),
    timestamp: stamp(),
    gateway: sn,
    need_reply: needReply,
    method,
    data,
  });
  const callback = (name: string) =>
    event("file_upload_callback", 1, {
      file: {
        object_key: `media/${name}.jpeg`,
        path: "media",
        name: `${name}.jpeg`,
        ext: { flight_id: crypto.randomUUID(), drone_model_key: "0-91-0", is_original: true },
        metadata: {
          shoot_position: { lat: 22.7, lng: 114.2 },
          created_time: "2026-12-01 10:00:00",
        },
      },
    });

  // An HMS alarm that asks for no answer. Recorded, it is the gateway's device event.
  const quiet = event("hms", 0, { list: [{ code: "0x16100083", level: 1, module: 3 }] });
  await bb.pub(topic, quiet);
  const kept = await until("the hms device event", async () => {
    const got = await streamEvents(nc, `downlink.device.${sn}.event`);
    return got.find((e: any) => e.tid === quiet.tid);
  });
  assert.equal((kept as any).method, "hms");

  // A media upload callback that asks for one.
  const asks = callback("DJI_0001");
  await bb.pub(topic, asks);
  const reply = await until("events_reply", () => answers(asks.tid)[0]);
  assert.equal(reply.body.bid, asks.bid);
  assert.equal(reply.body.method, "file_upload_callback");
  assert.deepEqual(reply.body.data, { result: 0 });
  assert.equal(typeof reply.body.timestamp, "number");

  // A fence: another event asking for an answer, sent once the first was answered. The bridge
  // answers an event right after storing it, before anything can record it, on its one MQTT
  // connection in order. The hms event was recorded before `asks` was sent, so an answer to it
  // would have come before `asks`'s; and a second answer to `asks` would come from a second
  // handling of it, done long before the fence's answer arrives.
  const fence = callback("DJI_0002");
  await bb.pub(topic, fence);
  await until("the fence's events_reply", () => answers(fence.tid)[0]);
  assert.equal(answers(asks.tid).length, 1, "need_reply 1: exactly one events_reply");
  assert.equal(answers(quiet.tid).length, 0, "need_reply 0: no events_reply");
  assert.equal(answers(fence.tid).length, 1);
});

test("a job answered 514116 ends FAILED with DJI's text, in the Query Response and the list", async () => {
  const sn = `${PREFIX}-busy`;
  await online(sn);
  const id = await send(sn, { command_type: "cover_open", payload: {} });
  const command = await atDock(sn, id);
  assert.equal(command.body.method, "cover_open");
  await answer(sn, command, 514116);

  const failed = await statusOf(id, "FAILED");
  assert.equal(failed.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(failed.response_code, "514116");
  assert.ok(failed.failure_reason.startsWith("514116: "), failed.failure_reason);
  assert.equal(failed.failure_reason, BUSY_TEXT);
  // A refused job never ran: no progress, and a wait for its end answers at once.
  assert.equal(failed.progress, undefined);
  const waited = await http.request(
    "GET",
    `/api/v1/open/downlink/commands/${id}/wait?until=finished&timeout_seconds=10`,
  );
  assert.equal(waited.headers.get("X-Wait-Timed-Out"), null);
  assert.equal(waited.body.failure_reason, BUSY_TEXT);

  const list = await http.request(
    "GET",
    `/api/v1/open/downlink/commands?device_id=${encodeURIComponent(sn)}&status=FAILED`,
  );
  assert.equal(list.status, 200);
  const listed = list.body.items.find((c: any) => c.command_id === id);
  assert.equal(listed?.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(listed?.failure_reason, BUSY_TEXT);
});
