// Device requests from outside, as issue 14 checks them: a Downlink process started for the test
// on a Mosquitto of its own (so that no other Downlink on the machine answers the dock), a dock
// played with the mosquitto_pub / mosquitto_sub binaries, the request listed and answered over
// the signed API through the CLI, and the requests_reply seen on the wire.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { type BlackBox, type DockEar, startBlackBox, until } from "../support/black_box.ts";
import { streamEvents } from "../support/stream_events.ts";
import { openNats } from "../../src/composition_root.ts";

const GRACE_SECONDS = 1;
const sn = `bb-req-${crypto.randomUUID().slice(0, 8)}`;

let bb: BlackBox;
/** The CLI's credentials: the client this test created. */
let credentials: Record<string, string>;
/** What the dock hears: its requests_reply topic. */
let ear: DockEar;

before(async () => {
  bb = await startBlackBox({ DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: String(GRACE_SECONDS) });
  const client = JSON.parse(
    await bb.cli([
      ...["client", "create", "--tenant", `bb_${crypto.randomUUID().slice(0, 8)}`],
      ...["--name", "black box", "--devices", "bb-req-*"],
    ]),
  );
  credentials = { DOWNLINK_API_ID: client.client_id, DOWNLINK_API_SECRET: client.secret };
  ear = await bb.listen([`thing/product/${sn}/requests_reply`]);
});

after(async () => {
  await bb?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The Downlink CLI as the test's client. */
const cli = (...args: string[]) => bb.cli(args, credentials);
const pub = (topic: string, body: unknown) => bb.pub(topic, body);
const heard = () => ear.heard;

/** The dock's requests as the CLI lists them (--json: one object per line). */
async function listed(): Promise<any[]> {
  const out = (await cli("device-requests", "list", "--device", sn, "--json")).trim();
  return out === "" ? [] : out.split("\n").map((l) => JSON.parse(l));
}

test("a dock played with mosquitto_pub/sub sends a request, a client answers it over the API, the answer is on the wire", async () => {
  const request = {
    tid: "req-tid-1",
    bid: "req-bid-1",
    timestamp: Date.now(),
    gateway: sn,
    method: "storage_config_get",
    data: { module: 0 },
  };
  await pub(`thing/product/${sn}/requests`, request);
  const pending = await until("the request listed", async () => (await listed())[0]);
  assert.equal(pending.status, "PENDING");
  assert.equal(pending.tid, "req-tid-1");
  assert.equal(pending.method, "storage_config_get");
  assert.equal(heard().length, 0, "nothing answers before a client does");

  const output = { bucket: "media", provider: "minio", endpoint: "https://minio.example" };
  const answered = JSON.parse(
    await cli(
      "device-requests",
      "reply",
      pending.request_id,
      "--result",
      "0",
      "--output",
      JSON.stringify(output),
    ),
  );
  assert.equal(answered.status, "ANSWERED");
  assert.equal(answered.answered_by, "client");

  const reply = await until(
    "requests_reply",
    () => heard().find((h) => h.body.tid === "req-tid-1"),
  );
  assert.equal(reply.topic, `thing/product/${sn}/requests_reply`);
  assert.equal(reply.body.bid, "req-bid-1");
  assert.equal(reply.body.method, "storage_config_get");
  assert.deepEqual(reply.body.data, { result: 0, output });
  await sleep(500);
  assert.equal(heard().filter((h) => h.body.tid === "req-tid-1").length, 1, "answered once");

  // A second answer is refused: the CLI exits non-zero and says why.
  await assert.rejects(
    cli("device-requests", "reply", pending.request_id, "--result", "0"),
    (err: { stderr?: string }) => /DEVICE_REQUEST_ANSWERED/.test(err.stderr ?? ""),
  );

  // flight_areas_get nobody answers: Downlink does, after the grace.
  const sentAt = Date.now();
  await pub(`thing/product/${sn}/requests`, {
    tid: "req-tid-2",
    bid: "req-bid-2",
    timestamp: Date.now(),
    gateway: sn,
    method: "flight_areas_get",
    data: null,
  });
  const auto = await until(
    "Downlink's requests_reply",
    () => heard().find((h) => h.body.tid === "req-tid-2"),
  );
  assert.ok(auto.at - sentAt >= GRACE_SECONDS * 1_000 - 100, "not before the grace");
  assert.deepEqual(auto.body.data, { result: 0, output: { files: [] } });
  const byDownlink = (await listed()).find((r) => r.tid === "req-tid-2");
  assert.equal(byDownlink.answered_by, "downlink");

  // Each request was announced once on the events stream.
  const nc = await openNats(loadConfig(bb.env).natsUrl, "black-box");
  try {
    const events = await until("two request events in the stream", async () => {
      const all = await streamEvents(nc, `downlink.device.${sn}.request`) as any[];
      return all.length >= 2 ? all : undefined;
    });
    assert.deepEqual(events.map((e) => [e.event_type, e.tid]), [
      ["device.request", "req-tid-1"],
      ["device.request", "req-tid-2"],
    ]);
  } finally {
    await nc.close();
  }
});
