// A Downlink process killed with SIGKILL while commands are in flight: after a restart every
// command reaches the right terminal state at its original deadline, and none is lost.
import { after, test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { loadConfig } from "../../src/runtime/config.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { seedCommand } from "../support/api_fixtures.ts";
import { dropNamespace, testEnv } from "../support/harness.ts";
import { dataCipher, openPostgres } from "../../src/composition_root.ts";

const env = testEnv({
  DOWNLINK_LOG_LEVEL: "info",
  // Stable across the restart, as a deployment would set it: the bridge resumes its MQTT
  // session and the shard takes its own leases back without waiting for their TTL.
  DOWNLINK_INSTANCE_ID: `crash-${crypto.randomUUID().slice(0, 8)}`,
  DOWNLINK_LEASE_TTL_SECONDS: "3",
});
const config = loadConfig(env);
const children: ChildProcess[] = [];
const docks: DockSimulator[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await Promise.allSettled(docks.map((d) => d.stop()));
  await dropNamespace(config);
});

/** Starts `node --import tsx src/main.ts`; resolves with its HTTP port once it serves. */
function startDownlinkProcess(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("node", ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let port = 0;
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("downlink did not start in 30 s")), 30_000);
    child.stdout!.on("data", (chunk: Uint8Array) => {
      buffered += new TextDecoder().decode(chunk);
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          if (entry.level === "error") console.error(line);
          if (entry.msg === "downlink started") {
            port = entry.port;
            clearTimeout(timer);
            resolve({ child, port });
          }
        } catch { /* not a log line */ }
      }
    });
    child.once("exit", (code) => reject(new Error(`downlink exited early with ${code}`)));
  });
}

async function waitTerminal(http: DownlinkClient, id: string, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await http.getCommand(id);
    const body = res.body as Record<string, any>;
    if (["SUCCEEDED", "FAILED", "TIMED_OUT", "UNMATCHED_RESPONSE"].includes(body.status)) {
      return { body, seenAt: Date.now() };
    }
    if (Date.now() > deadline) throw new Error(`command ${id} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("commands in flight at a SIGKILL all end right, at their original deadlines", async () => {
  const first = await startDownlinkProcess();
  const sql = openPostgres(config, { poolSize: 2 });
  const prefix = `dock-${crypto.randomUUID().slice(0, 8)}`;
  const { client, secret } = await createPostgresClientStore(sql, dataCipher(config))
    .createClient({
      tenantId: `tenant_${prefix.slice(5)}`,
      name: "crash",
      devices: [`${prefix}-*`],
    });
  await sql.end();
  const clientFor = (port: number) =>
    createDownlinkClient({
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: client.client_id,
      secret,
    });

  const answering = `${prefix}-answers`;
  const silent = `${prefix}-silent`;
  // Replies come 3 s after each command: while Downlink is down, or after it is back.
  docks.push(await createDockSimulator({ mqttUrl: config.mqttUrl, sn: answering, delayMs: 3_000 }));
  docks.push(await createDockSimulator({ mqttUrl: config.mqttUrl, sn: silent, silent: true }));

  let http = clientFor(first.port);
  const submit = async (device_id: string, timeout_seconds: number) => {
    const res = await http.createCommand(seedCommand({ device_id, timeout_seconds }) as never);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return (res.body as { command_id: string }).command_id;
  };
  const toAnswer: string[] = [];
  const toTimeOut: string[] = [];
  for (let i = 0; i < 4; i++) toAnswer.push(await submit(answering, 20));
  for (let i = 0; i < 4; i++) toTimeOut.push(await submit(silent, 4));
  // Let some be delivered, then kill the process with no chance to clean up.
  await new Promise((r) => setTimeout(r, 300));
  first.child.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));

  const second = await startDownlinkProcess();
  http = clientFor(second.port);
  const ended = await Promise.all([
    ...toAnswer.map((id) => waitTerminal(http, id, 30_000)),
    ...toTimeOut.map((id) => waitTerminal(http, id, 30_000)),
  ]);
  const answered = ended.slice(0, toAnswer.length);
  const timedOut = ended.slice(toAnswer.length);
  for (const { body } of answered) {
    assert.equal(body.status, "SUCCEEDED", JSON.stringify(body));
    assert.equal(body.response_code, "0");
  }
  for (const { body, seenAt } of timedOut) {
    assert.equal(body.status, "TIMED_OUT", JSON.stringify(body));
    const deadline = Date.parse(body.deadline_at);
    assert.equal(Date.parse(body.completed_at), deadline, "completed at the original deadline");
    assert.ok(seenAt >= deadline, "not before the deadline");
    assert.ok(seenAt - deadline < 3_000, `observed ${seenAt - deadline} ms after the deadline`);
  }
  second.child.kill("SIGTERM");
  await new Promise((r) => second.child.once("exit", r));
});
