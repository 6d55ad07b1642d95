// Progress of long jobs end to end: the seed's fileupload_start is answered result 0, then the
// dock reports fileupload_progress on `events`; the progress is linked to the command (by file
// key, or by the command's bid), shown in the Query Response and the list, published as
// command.progress (status changes always, percent alone at most once a second), and ends a
// wait ?until=finished.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { FormatRegistry } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { CommandViewSchema } from "../../src/http/openapi.ts";
import { streamEvents } from "../support/stream_events.ts";

let f: LifecycleFixture;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture();
  FormatRegistry.Set("date-time", (v) => !Number.isNaN(Date.parse(v)));
  FormatRegistry.Set("uuid", (v) => /^[0-9a-f-]{36}$/.test(v));
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f.stop();
});

async function dock(sn: string): Promise<DockSimulator> {
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0 });
  docks.push(d);
  return d;
}

/** The seed's fileupload_start with two files (aircraft and dock) under unique keys. */
function upload(keys: [string, string]) {
  return {
    payload: {
      bucket: "b",
      region: "r",
      credentials: {
        access_key_id: "id",
        access_key_secret: "s",
        expire: 0,
        security_token: "t",
      },
      endpoint: "https://example.com",
      provider: "aws",
      params: {
        files: [
          { list: [{ boot_index: 1 }], module: "0", object_key: keys[0] },
          { list: [{ boot_index: 2 }], module: "3", object_key: keys[1] },
        ],
      },
    },
  };
}

let clock = 1_800_000_000_000;

function progressEvent(
  sn: string,
  o: { bid: string; status: string; files: Array<[string, number, string?]>; result?: number },
) {
  return JSON.stringify({
    tid: crypto.randomUUID(),
    bid: o.bid,
    timestamp: clock += 100,
    gateway: sn,
    need_reply: 0,
    method: "fileupload_progress",
    data: {
      result: o.result ?? 0,
      output: {
        status: o.status,
        ext: {
          files: o.files.map(([key, progress, status]) => ({
            device_sn: sn,
            module: key.endsWith("-0") ? "0" : "3",
            key,
            fingerprint: "4f65",
            size: 155232,
            progress: { progress, status: status ?? o.status, result: 0, upload_rate: 0 },
          })),
        },
      },
    },
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 8_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const progressOf = (id: string) =>
  f.events.filter((e) => e.command_id === id && e.event_type === "command.progress");

test("a multi-file upload's progress is linked by object_key, shown, published and finished", async () => {
  const sn = f.device("upload");
  const d = await dock(sn);
  const keys: [string, string] = [`logs/${crypto.randomUUID()}-0`, `logs/${crypto.randomUUID()}-3`];
  const id = await f.submit(sn, upload(keys));
  await f.waitForStatus(id, ["SUCCEEDED"]);
  // The dock's own bid for the upload: not the command's (docks are not documented to reuse it).
  const bid = crypto.randomUUID();
  const topic = `thing/product/${sn}/events`;
  await d.publish(
    topic,
    progressEvent(sn, { bid, status: "in_progress", files: [[keys[0], 10], [keys[1], 0]] }),
  );
  const first = await until("progress", async () => (await f.get(id)).progress);
  assert.equal(first.status, "in_progress");
  assert.equal(first.percent, 5);
  assert.equal(first.finished_at, undefined);
  // Only the percent changes, within a second: recorded, not published.
  await d.publish(
    topic,
    progressEvent(sn, { bid, status: "in_progress", files: [[keys[0], 60], [keys[1], 40]] }),
  );
  await until(
    "percent 50",
    async () => (await f.get(id)).progress?.percent === 50 ? true : undefined,
  );
  await d.publish(
    topic,
    progressEvent(sn, { bid, status: "ok", files: [[keys[0], 100], [keys[1], 100]] }),
  );
  const body = await f.waitForStatus(id, ["SUCCEEDED"]);
  const done = await until("finished", async () => {
    const b = await f.get(id);
    return b.progress?.finished_at ? b : undefined;
  });
  assert.equal(done.status, "SUCCEEDED"); // the reply decided the status
  assert.equal(done.progress.status, "ok");
  assert.equal(done.progress.percent, 100);
  assert.deepEqual(
    done.progress.detail.files.map((x: any) => [x.module, x.key, x.size, x.fingerprint, x.percent]),
    [["0", keys[0], 155232, "4f65", 100], ["3", keys[1], 155232, "4f65", 100]],
  );
  assert.deepEqual([...Value.Errors(CommandViewSchema, done)].map((e) => e.path), []);
  assert.ok(body);

  // command.progress: the first report and the status change, in order, after the accept.
  const events = await until("two progress events", async () => {
    const got = progressOf(id);
    return got.length >= 2 ? got : undefined;
  });
  assert.deepEqual(events.map((e) => e.progress?.status), ["in_progress", "ok"]);
  assert.deepEqual(events.map((e) => e.progress?.percent), [5, 100]);
  assert.equal(events[1].status, "SUCCEEDED");
  assert.equal(events[1].tenant_id, f.tenant_id);
  const stored = await streamEvents(f.nc, `tenant.${f.tenant_id}.command.progress`);
  assert.equal(stored.filter((e) => e.command_id === id).length, 2);

  const list = await f.http.request<{ items: Record<string, any>[] }>(
    "GET",
    `/api/v1/open/downlink/commands?device_id=${encodeURIComponent(sn)}`,
  );
  assert.equal(list.body.items.find((c) => c.command_id === id)?.progress?.status, "ok");
});

test("a dock that reuses the command's bid is linked by it", async () => {
  const sn = f.device("bid-reused");
  const d = await dock(sn);
  const id = await f.submit(
    sn,
    upload([`k/${crypto.randomUUID()}-0`, `k/${crypto.randomUUID()}-3`]),
  );
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const bid = d.received.find((c) => c.tid === id)!.bid!;
  // No file named: only the bid links it.
  await d.publish(
    `thing/product/${sn}/events`,
    progressEvent(sn, { bid, status: "failed", result: 324019, files: [] }),
  );
  const p = await until("progress", async () => (await f.get(id)).progress);
  assert.equal(p.status, "failed");
  assert.equal(p.result, 324019);
  assert.match(p.failure_reason, /^324019: Due to network anomalies/);
  assert.ok(p.finished_at);
});

test("an event from another gateway naming the same keys is not linked", async () => {
  const sn = f.device("victim");
  const other = f.device("other");
  const d = await dock(sn);
  const keys: [string, string] = [`k/${crypto.randomUUID()}-0`, `k/${crypto.randomUUID()}-3`];
  const id = await f.submit(sn, upload(keys));
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const bid = d.received.find((c) => c.tid === id)!.bid!;
  await d.publish(
    `thing/product/${other}/events`,
    progressEvent(other, { bid, status: "ok", files: [[keys[0], 100]] }),
  );
  const kept = await until("device event", async () => {
    const got = await streamEvents(f.nc, `downlink.device.${other}.event`);
    return got.length > 0 ? got : undefined;
  });
  assert.equal(kept.length, 1);
  assert.equal((await f.get(id)).progress, undefined);
});

test("wait ?until=finished answers at the job's end, not at the reply", async () => {
  const sn = f.device("wait");
  const d = await dock(sn);
  const keys: [string, string] = [`k/${crypto.randomUUID()}-0`, `k/${crypto.randomUUID()}-3`];
  const id = await f.submit(sn, upload(keys));
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const path = `/api/v1/open/downlink/commands/${id}/wait?until=finished&timeout_seconds=10`;
  const waiting = f.http.request<Record<string, any>>("GET", path);
  let answered = false;
  void waiting.then(() => (answered = true));
  const bid = crypto.randomUUID();
  const topic = `thing/product/${sn}/events`;
  await d.publish(topic, progressEvent(sn, { bid, status: "in_progress", files: [[keys[0], 50]] }));
  await until("progress", async () => (await f.get(id)).progress);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(answered, false, "a non-terminal progress does not end the wait");
  await d.publish(
    topic,
    progressEvent(sn, { bid, status: "ok", files: [[keys[0], 100], [keys[1], 100]] }),
  );
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("X-Wait-Timed-Out"), null);
  assert.equal(res.body.progress.status, "ok");
  assert.ok(res.body.progress.finished_at);
  // Without until=finished the same command answers at once: its reply is in.
  const plain = await f.http.request<Record<string, any>>(
    "GET",
    `/api/v1/open/downlink/commands/${id}/wait`,
  );
  assert.equal(plain.body.status, "SUCCEEDED");
});

test("wait ?until=finished of a job whose dock reports nothing times out", async () => {
  const sn = f.device("wait-silent");
  await dock(sn);
  const id = await f.submit(
    sn,
    upload([`k/${crypto.randomUUID()}-0`, `k/${crypto.randomUUID()}-3`]),
  );
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const res = await f.http.request<Record<string, any>>(
    "GET",
    `/api/v1/open/downlink/commands/${id}/wait?until=finished&timeout_seconds=1`,
  );
  assert.equal(res.headers.get("X-Wait-Timed-Out"), "true");
  const bad = await f.http.request<Record<string, any>>(
    "GET",
    `/api/v1/open/downlink/commands/${id}/wait?until=soon`,
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details[0].path, "query.until");
});

test("a simulated dock's remote-debug job reports progress, each report answered once", async () => {
  const sn = f.device("cover");
  const d = await createDockSimulator({
    mqttUrl: f.mqttUrl,
    sn,
    result: 0,
    progress: { steps: 2, intervalMs: 50, needReply: true },
  });
  docks.push(d);
  const id = await f.submit(sn, { command_type: "cover_open", payload: {} });
  const done = await until("finished", async () => {
    const b = await f.get(id);
    return b.progress?.finished_at ? b : undefined;
  });
  assert.equal(done.status, "SUCCEEDED");
  assert.equal(done.progress.status, "ok");
  assert.equal(done.progress.percent, 100);
  assert.equal(done.progress.step, "done");
  // Three reports (two steps and the end), each answered on events_reply exactly once.
  const replies = await until(
    "three events_reply",
    async () => d.eventReplies.length >= 3 ? d.eventReplies : undefined,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(d.eventReplies.length, 3);
  assert.equal(new Set(replies.map((r) => r.tid)).size, 3);
  assert.ok(replies.every((r) => r.method === "cover_open"));
});

test("a job that fails on the dock reads DJI's text in progress.failure_reason", async () => {
  const sn = f.device("cover-fail");
  docks.push(
    await createDockSimulator({
      mqttUrl: f.mqttUrl,
      sn,
      result: 0,
      progress: { steps: 1, intervalMs: 50, failCode: 514107 },
    }),
  );
  const id = await f.submit(sn, { command_type: "cover_open", payload: {} });
  const done = await until("finished", async () => {
    const b = await f.get(id);
    return b.progress?.finished_at ? b : undefined;
  });
  assert.equal(done.status, "SUCCEEDED"); // the reply said the job started
  assert.equal(done.progress.status, "failed");
  assert.equal(done.progress.result, 514107);
  assert.match(done.progress.failure_reason, /^514107: /);
  const failed = await until(
    "failed progress event",
    async () => progressOf(id).find((e) => e.progress?.status === "failed"),
  );
  assert.match(failed.progress!.failure_reason!, /^514107: /);
});
