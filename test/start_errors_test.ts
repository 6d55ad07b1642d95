// Start-up against an unreachable PostgreSQL, NATS or MQTT: the process gives up within 10 s
// with one line naming the service, the address and the variable, exit code 2, no stack trace.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { loadConfig } from "../src/runtime/config.ts";
import { dropNamespace } from "./support/harness.ts";
import { testEnv } from "./support/test_env.ts";

const namespaces: string[] = [];
after(async () => {
  // The runs that reached PostgreSQL created their schema: dropped through the real services.
  for (const ns of namespaces) {
    await dropNamespace(loadConfig(testEnv({ DOWNLINK_NAMESPACE: ns, DOWNLINK_DB_SCHEMA: ns })));
  }
});

interface Run {
  code: number | null;
  ms: number;
  lines: string[];
  text: string;
}

function startDownlink(overrides: Record<string, string>): Promise<Run> {
  const env = testEnv({ DOWNLINK_LOG_LEVEL: "warn", ...overrides });
  namespaces.push(env.DOWNLINK_NAMESPACE);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      const lines = text.split("\n").filter((l) => l.trim() !== "");
      resolve({ code, ms: Date.now() - started, lines, text });
    });
  });
}

function assertFailsFast(run: Run, line: RegExp): void {
  assert.equal(run.code, 2, run.text);
  assert.ok(run.ms < 10_000, `took ${run.ms} ms:\n${run.text}`);
  assert.match(run.lines.at(-1) ?? "", line, run.text);
  assert.doesNotMatch(run.text, /^\s+at /m, `a stack trace was printed:\n${run.text}`);
}

test("an unreachable PostgreSQL stops start-up within 10 s naming DATABASE_URL", async () => {
  const run = await startDownlink({ DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1:1/test" });
  assertFailsFast(
    run,
    /^downlink: cannot reach PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/test \(DATABASE_URL\): connection refused$/,
  );
  assert.doesNotMatch(run.text, /hunter2/);
});

test("an unreachable NATS stops start-up within 10 s naming NATS_URL", async () => {
  const run = await startDownlink({ NATS_URL: "nats://127.0.0.1:1" });
  assertFailsFast(
    run,
    /^downlink: cannot reach NATS at nats:\/\/127\.0\.0\.1:1 \(NATS_URL\): connection refused$/,
  );
});

test("an unreachable MQTT broker stops start-up within 10 s naming MQTT_URL", async () => {
  const run = await startDownlink({ MQTT_URL: "mqtt://127.0.0.1:1" });
  assertFailsFast(
    run,
    /^downlink: cannot reach MQTT at mqtt:\/\/127\.0\.0\.1:1 \(MQTT_URL\): connection refused$/,
  );
});

test("each retry while starting is one log line without a stack trace", async () => {
  const run = await startDownlink({ NATS_URL: "nats://127.0.0.1:1" });
  const retries = run.lines.filter((l) => l.includes("retrying"));
  assert.ok(retries.length >= 1, run.text);
  for (const line of retries) {
    const entry = JSON.parse(line);
    assert.equal(typeof entry.err, "string", line);
  }
});
