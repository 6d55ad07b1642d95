// Presence from outside, as issue 13 checks it: a Downlink process started for the test on a
// Mosquitto of its own (so that no other Downlink on the machine answers the dock), a dock
// played with the mosquitto_pub / mosquitto_sub binaries, the signed API read through the CLI
// and the typed client, and the device events read back from the stream.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import type { DeviceEvent } from "../../src/device/device_event.ts";
import {
  type BlackBox,
  type DockEar,
  startBlackBox,
  until as untilWithin,
} from "../support/black_box.ts";
import { seedCommand } from "../support/api_fixtures.ts";
import { streamEvents } from "../support/stream_events.ts";
import { openNats } from "../../src/composition_root.ts";

// Long enough for the CLI (a few seconds to start on a loaded 2-core machine) to see the dock
// online before its silence makes it offline.
const OFFLINE_AFTER_SECONDS = 8;
const sn = `bb-dock-${crypto.randomUUID().slice(0, 8)}`;
const aircraft = `${sn}-uav`;

let bb: BlackBox;
let client: { client_id: string; secret: string };
let http: DownlinkClient;
/** What the dock's mosquitto_sub hears: its status_reply and services topics. */
let ear: DockEar;

before(async () => {
  bb = await startBlackBox({
    DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS),
  });
  const created = await cli(
    "client",
    "create",
    "--tenant",
    `bb_${crypto.randomUUID().slice(0, 8)}`,
    "--name",
    "black box",
    "--devices",
    "bb-dock-*",
  );
  client = JSON.parse(created);
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

/** The Downlink CLI with this test's environment and client. */
function cli(...args: string[]): Promise<string> {
  return bb.cli(
    args,
    client ? { DOWNLINK_API_ID: client.client_id, DOWNLINK_API_SECRET: client.secret } : {},
  );
}

/** The dock speaking: one mosquitto_pub per message, QoS 1. */
const pub = (topic: string, body: unknown) => bb.pub(topic, body);

function updateTopo(tid: string, withAircraft: boolean) {
  return {
    tid,
    bid: `bid-${tid}`,
    timestamp: Date.now(),
    method: "update_topo",
    data: {
      domain: "3",
      type: 2,
      sub_type: 0,
      device_secret: "s",
      nonce: "n",
      thing_version: "1.2.0",
      sub_devices: withAircraft
        ? [{ sn: aircraft, domain: "0", type: 91, sub_type: 0, index: "A" }]
        : [],
    },
  };
}

/** Presence takes seconds of silence to change: waits up to 30 s. */
const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined) =>
  untilWithin(what, probe, 30_000);

async function device(id: string) {
  return JSON.parse(await cli("devices", "get", id));
}

test("a dock played with mosquitto_pub/sub: presence, a command held while it is silent, delivered when it is back", async () => {
  // update_topo → exactly one status_reply, echoing tid and bid.
  await pub(`sys/product/${sn}/status`, updateTopo("topo-1", true));
  const reply = await until("status_reply", () => ear.heard.find((h) => h.body.tid === "topo-1"));
  assert.equal(reply.topic, `sys/product/${sn}/status_reply`);
  assert.equal(reply.body.bid, "bid-topo-1");
  assert.equal(reply.body.method, "update_topo");
  assert.deepEqual(reply.body.data, { result: 0 });
  await sleep(500);
  assert.equal(ear.heard.filter((h) => h.body.tid === "topo-1").length, 1, "answered once");

  // The devices over the signed API, through the CLI.
  const lines = (await cli("devices", "list", "--device", sn, "--json")).trim().split("\n");
  const listed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(listed.map((d) => [d.device_id, d.kind, d.online]), [
    [sn, "gateway", true],
    [aircraft, "aircraft", true],
  ]);
  // The status_reply goes once the shard has the topology or JetStream stored it (the default
  // link): the registry's row may follow it by a commit.
  const dock = await until("the dock's sub-devices", async () => {
    const d = await device(sn);
    return d.sub_devices?.length > 0 ? d : undefined;
  });
  assert.equal(dock.model, "DJI Dock 2");
  assert.deepEqual(dock.sub_devices.map((s: any) => [s.device_id, s.model]), [
    [aircraft, "Matrice 3D"],
  ]);
  assert.match(await cli("devices", "list", "--device", sn), new RegExp(`^${sn}  gateway`));

  // The dock says nothing more: it goes offline, its aircraft with it.
  await until("offline", async () => (await device(sn)).online === false ? true : undefined);
  assert.equal((await device(aircraft)).online, false);

  // A command while it is silent: ACCEPTED, and nothing on its services topic.
  const sent = await http.createCommand(
    seedCommand({ device_id: sn, timeout_seconds: 60 }) as never,
  );
  assert.equal(sent.status, 202);
  const id = (sent.body as { command_id: string }).command_id;
  await sleep(2_000);
  assert.equal((await http.getCommand(id)).body.status, "ACCEPTED");
  assert.deepEqual(ear.heard.filter((h) => h.topic.endsWith("/services")), []);

  // Back online: the command arrives, the dock answers it, it finishes.
  await pub(`sys/product/${sn}/status`, updateTopo("topo-2", true));
  const command = await until(
    "the command at the dock",
    () => ear.heard.find((h) => h.topic === `thing/product/${sn}/services`),
  );
  assert.equal(command.body.tid, id);
  await pub(`thing/product/${sn}/services_reply`, {
    tid: command.body.tid,
    bid: command.body.bid,
    method: command.body.method,
    timestamp: Date.now(),
    gateway: sn,
    data: { result: 0 },
  });
  const done = await until("SUCCEEDED", async () => {
    const body = (await http.getCommand(id)).body as Record<string, any>;
    return body.status === "SUCCEEDED" ? body : undefined;
  });
  assert.ok(done.delivered_at);

  // Silent again: offline again. The stream holds the story, in order.
  await until("offline again", async () => (await device(sn)).online === false ? true : undefined);
  const nc = await openNats(loadConfig(bb.env).natsUrl, "black-box");
  try {
    const events = await until("four presence changes in the stream", async () => {
      const all = (await streamEvents(nc, `downlink.device.${sn}.*`)) as unknown as DeviceEvent[];
      const changes = all.filter((e) => e.event_type !== "device.topology");
      return changes.length >= 4 ? changes : undefined;
    });
    assert.deepEqual(events.map((e) => [e.event_type, e.online]), [
      ["device.online", true],
      ["device.offline", false],
      ["device.online", true],
      ["device.offline", false],
    ]);
    assert.ok(events.every((e) => e.device_id === sn && e.gateway_sn === sn));
  } finally {
    await nc.close();
  }
});
