// One job per class from outside, as issue 14 checks it: a Downlink process started for the test
// on a Mosquitto of its own, a dock played with the mosquitto_pub / mosquitto_sub binaries, two
// remote-debug jobs sent over the signed API. The second reaches the dock's services topic only
// after the dock published the first job's terminal progress on its events topic.
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
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { dropNamespace, testEnv } from "../support/harness.ts";
import { seedCommand } from "../support/api_fixtures.ts";

const run = promisify(execFile);
const sn = `bb-dock-${crypto.randomUUID().slice(0, 8)}`;

let dir: string;
let broker: OwnedServer;
let downlink: { child: ChildProcess; port: number };
let env: Record<string, string>;
let client: { client_id: string; secret: string };
let http: DownlinkClient;
let sub: ChildProcess;
/** What the dock's mosquitto_sub printed: one topic, its payload and when it came. */
const heard: Array<{ topic: string; body: any; at: number }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "downlink-black-box-"));
  broker = await startMosquitto(dir);
  env = testEnv({
    MQTT_URL: broker.url,
    DOWNLINK_HOLD_BY_CLASS: "true",
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
    "bb-dock-*",
  );
  client = JSON.parse(created);
  http = createDownlinkClient({
    baseUrl: `http://127.0.0.1:${downlink.port}`,
    clientId: client.client_id,
    secret: client.secret,
  });
  const { port } = new URL(broker.url);
  sub = spawn("/usr/bin/mosquitto_sub", [
    ...["-h", "127.0.0.1", "-p", port, "-q", "1", "-v"],
    ...["-t", `sys/product/${sn}/status_reply`, "-t", `thing/product/${sn}/services`],
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

/** The Downlink CLI with this test's environment. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run("node", ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: { ...process.env, ...env, DOWNLINK_URL: `http://127.0.0.1:${downlink.port}` },
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

const services = () => heard.filter((h) => h.topic === `thing/product/${sn}/services`);

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
  await until("status_reply", () => heard.find((h) => h.body.tid === "topo-1"));

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
