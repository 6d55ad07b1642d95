// Downlink as a black box: its own process (`node --import tsx src/main.ts`, under Deno too) on a
// Mosquitto of its own, so that no other Downlink on the machine answers the docks the test
// plays, and the docks played with the mosquitto_pub / mosquitto_sub programs. The API is reached
// over signed HTTP or the CLI, as any caller would.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { startMosquitto } from "../../faults/mosquitto_broker.ts";
import type { OwnedServer } from "../../faults/owned_server.ts";
import { loadConfig } from "../../src/runtime/config.ts";
import { dropNamespace, testEnv } from "./harness.ts";

const run = promisify(execFile);

export interface BlackBox {
  /** Downlink's environment (the machine's Postgres and NATS, this broker, its namespace). */
  env: Record<string, string>;
  baseUrl: string;
  /** The CLI with Downlink's environment, `DOWNLINK_URL` and `extraEnv`; resolves its stdout. */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<string>;
  /** A dock speaking: one mosquitto_pub per message, QoS 1. Resolves once the broker has it. */
  pub(topic: string, body: unknown): Promise<void>;
  /** A dock listening: mosquitto_sub on `topics` (MQTT filters); resolves once subscribed. */
  listen(topics: string[]): Promise<DockEar>;
  stop(): Promise<void>;
}

/** What a mosquitto_sub heard: each message's topic, JSON payload and arrival time (epoch ms),
 * in arrival order. */
export interface DockEar {
  heard: Array<{ topic: string; body: any; at: number }>;
  stop(): void;
}

/** Asks `probe` every 50 ms until it returns something, for `ms` at most: a black box says
 * nothing when it is done, so its effects are read until they show. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startBlackBox(env: Record<string, string> = {}): Promise<BlackBox> {
  const dir = mkdtempSync(join(tmpdir(), "downlink-black-box-"));
  const broker: OwnedServer = await startMosquitto(dir);
  const fullEnv = testEnv({
    MQTT_URL: broker.url,
    // The process says on an info line which port it listens on.
    DOWNLINK_LOG_LEVEL: "info",
    ...env,
  });
  const ears: DockEar[] = [];
  let downlink: { child: ChildProcess; port: number } | undefined;
  const stop = async () => {
    for (const ear of ears) ear.stop();
    if (downlink && downlink.child.exitCode === null && downlink.child.signalCode === null) {
      const exited = new Promise((r) => downlink!.child.once("exit", r));
      downlink.child.kill("SIGTERM");
      await exited;
    }
    await dropNamespace(loadConfig(fullEnv));
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    downlink = await startDownlink(fullEnv);
  } catch (err) {
    await stop();
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${downlink.port}`;
  const port = new URL(broker.url).port;

  const pub = async (topic: string, body: unknown) => {
    await run("/usr/bin/mosquitto_pub", [
      ...["-h", "127.0.0.1", "-p", port, "-q", "1", "-t", topic, "-m", JSON.stringify(body)],
    ]);
  };

  return {
    env: fullEnv,
    baseUrl,
    async cli(args, extraEnv = {}) {
      const { stdout } = await run("node", ["--import", "tsx", "src/cli/main.ts", ...args], {
        env: { ...process.env, ...fullEnv, DOWNLINK_URL: baseUrl, ...extraEnv },
      });
      return stdout;
    },
    pub,
    async listen(topics) {
      const sub = spawn("/usr/bin/mosquitto_sub", [
        ...["-h", "127.0.0.1", "-p", port, "-q", "1", "-v"],
        ...topics.flatMap((t) => ["-t", t]),
      ], { stdio: ["ignore", "pipe", "inherit"] });
      // mosquitto_sub says nothing once subscribed: it is when it hears a probe on its first
      // filter (Downlink subscribes to none of the topics listened to), sent again until it does.
      // Probes are not what the test listens for.
      const probe = crypto.randomUUID();
      let subscribed = false;
      const heard: DockEar["heard"] = [];
      createInterface({ input: sub.stdout! }).on("line", (line) => {
        const space = line.indexOf(" ");
        const body = JSON.parse(line.slice(space + 1));
        if (body?.probe === probe) subscribed = true;
        else heard.push({ topic: line.slice(0, space), body, at: Date.now() });
      });
      const ear = { heard, stop: () => void sub.kill("SIGTERM") };
      ears.push(ear);
      const probeTopic = topics[0].replaceAll("+", "black-box-probe").replace(/#$/, "probe");
      const deadline = Date.now() + 10_000;
      while (!subscribed) {
        if (Date.now() > deadline) throw new Error(`mosquitto_sub on ${topics[0]} heard nothing`);
        await pub(probeTopic, { probe });
        await new Promise((r) => setTimeout(r, 100));
      }
      return ear;
    },
    stop,
  };
}

/** `node --import tsx src/main.ts`; resolves once it serves HTTP. */
function startDownlink(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("node", ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("downlink did not start in 60 s"));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`downlink exited with ${code} before it started`));
    });
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
