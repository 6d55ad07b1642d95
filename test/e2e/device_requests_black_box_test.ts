// Device requests from outside, as issue 14 checks them: a Downlink process started for the test
// on a Mosquitto of its own (so that no other Downlink on the machine answers the dock), a dock
// played with the mosquitto_pub / mosquitto_sub binaries, the request listed and answered over
// the signed API through the CLI, and the requests_reply seen on the wire.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { startMosquitto } from "../../faults/mosquitto_broker.ts";
import type { OwnedServer } from "../../faults/owned_server.ts";
import { loadConfig } from "../../src/config.ts";
import { connectNats } from "../../src/bus/nats.ts";
import { dropNamespace, testEnv } from "../support/harness.ts";
import { streamEvents } from "../support/stream_events.ts";

const run = promisify(execFile);
const GRACE_SECONDS = 1;
const sn = `bb-req-${crypto.randomUUID().slice(0, 8)}`;

let dir: string;
let broker: OwnedServer;
let downlink: { child: ChildProcess; port: number };
let env: Record<string, string>;
let client: { client_id: string; secret: string };
let sub: ChildProcess;
/** What the dock's mosquitto_sub printed: one topic and its payload per message. */
const heard: Array<{ topic: string; body: any; at: number }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "downlink-black-box-"));
  broker = await startMosquitto(dir);
  env = testEnv({
    MQTT_URL: broker.url,
    DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: String(GRACE_SECONDS),
    // The process says on an info line which port it listens on.
    DOWNLINK_LOG_LEVEL: "info",
  });
  downlink = await startDownlink();
  const created = await cli(
    "client",
    "create",
    "--tenant",
    `bb_${crypto.randomUUID().slice(0, 8)}`,
    "--name",
    "black box",
    "--devices",
    "bb-req-*",
  );
  client = JSON.parse(created);
  const { port } = new URL(broker.url);
  sub = spawn("/usr/bin/mosquitto_sub", [
    ...["-h", "127.0.0.1", "-p", port, "-q", "1", "-v"],
    ...["-t", `thing/product/${sn}/requests_reply`],
  ], { stdio: ["ignore", "pipe", "inherit"] });
  createInterface({ input: sub.stdout! }).on("line", (line) => {
    const space = line.indexOf(" ");
    heard.push({
      topic: line.slice(0, space),
      body: JSON.parse(line.slice(space + 1)),
      at: Date.now(),
    });
  });
  // mosquitto_sub prints nothing when subscribed: give it a moment before the dock speaks.
  await sleep(500);
});

after(async () => {
  sub?.kill("SIGTERM");
  if (downlink) {
    const exited = new Promise((r) => downlink.child.once("exit", r));
    downlink.child.kill("SIGTERM");
    await exited;
  }
  if (env) await dropNamespace(loadConfig(env));
  await broker?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `node --import tsx src/main.ts` (node, under Deno too); resolves once it serves HTTP. */
function startDownlink(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("node", ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("downlink did not start in 60 s"));
    }, 60_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: { level?: string; msg?: string; port?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.level === "error") console.error(line);
      if (entry.msg === "downlink started") {
        clearTimeout(timer);
        resolve({ child, port: entry.port! });
      }
    });
  });
}

/** The Downlink CLI with this test's environment and client. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run("node", ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: {
      ...process.env,
      ...env,
      DOWNLINK_URL: `http://127.0.0.1:${downlink.port}`,
      ...(client ? { DOWNLINK_API_ID: client.client_id, DOWNLINK_API_SECRET: client.secret } : {}),
    },
  });
  return stdout;
}

/** The dock speaking: one mosquitto_pub per message, QoS 1. */
async function pub(topic: string, body: unknown): Promise<void> {
  const { port } = new URL(broker.url);
  await run("/usr/bin/mosquitto_pub", [
    ...["-h", "127.0.0.1", "-p", port, "-q", "1", "-t", topic, "-m", JSON.stringify(body)],
  ]);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

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
  assert.equal(heard.length, 0, "nothing answers before a client does");

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

  const reply = await until("requests_reply", () => heard.find((h) => h.body.tid === "req-tid-1"));
  assert.equal(reply.topic, `thing/product/${sn}/requests_reply`);
  assert.equal(reply.body.bid, "req-bid-1");
  assert.equal(reply.body.method, "storage_config_get");
  assert.deepEqual(reply.body.data, { result: 0, output });
  await sleep(500);
  assert.equal(heard.filter((h) => h.body.tid === "req-tid-1").length, 1, "answered once");

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
    () => heard.find((h) => h.body.tid === "req-tid-2"),
  );
  assert.ok(auto.at - sentAt >= GRACE_SECONDS * 1_000 - 100, "not before the grace");
  assert.deepEqual(auto.body.data, { result: 0, output: { files: [] } });
  const byDownlink = (await listed()).find((r) => r.tid === "req-tid-2");
  assert.equal(byDownlink.answered_by, "downlink");

  // Each request was announced once on the events stream.
  const nc = await connectNats(loadConfig(env).natsUrl, "black-box");
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
