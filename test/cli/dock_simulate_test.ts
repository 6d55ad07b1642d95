// `dock simulate` as an operator runs it, against a real Downlink: it announces the dock and its
// aircraft, loses the aircraft on --offline-after (empty topology), and brings it back on
// --online-after; each step printed, and seen in GET /devices.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";

let f: LifecycleFixture;
let child: ChildProcess | undefined;

before(async () => {
  f = await startLifecycleFixture();
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  await f?.stop();
});

async function aircraftOnline(id: string): Promise<boolean | undefined> {
  const res = await f.http.getDevice(id);
  return res.status === 200 ? res.body.online : undefined;
}

test("dock simulate announces its dock, loses the aircraft on --offline-after and brings it back on --online-after", async () => {
  const sn = f.device("cli-sim");
  const aircraft = `${sn}-aircraft`;
  child = spawn("node", [
    ...["--import", "tsx", "src/cli/main.ts", "dock", "simulate", "--sn", sn],
    ...["--offline-after", "2", "--offline-mode", "empty-topology", "--online-after", "2"],
    ...["--mqtt", f.mqttUrl],
  ], { env: { ...process.env }, stdio: ["ignore", "pipe", "inherit"] });
  const lines: any[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => lines.push(JSON.parse(l)));
  const seen: Array<boolean | undefined> = [];
  const until = Date.now() + 20_000;
  // Poll the aircraft as the API shows it while the simulator goes through its steps.
  while (Date.now() < until && lines.filter((l) => l.online).length < 2) {
    const online = await aircraftOnline(aircraft);
    if (seen.at(-1) !== online) seen.push(online);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const last = await aircraftOnline(aircraft);
  if (seen.at(-1) !== last) seen.push(last);

  assert.deepEqual(lines.map((l) => Object.keys(l)[0]), [
    "simulating",
    "online",
    "offline",
    "online",
  ]);
  assert.deepEqual(lines[1], { online: [sn], status_reply: "received" });
  assert.deepEqual(lines[2], { offline: [sn], mode: "empty-topology" });
  assert.deepEqual(
    seen.filter((s) => s !== undefined),
    [true, false, true],
    "the aircraft online, offline, online",
  );
  assert.equal((await f.http.getDevice(sn)).body.online, true, "the dock stayed online");
});
