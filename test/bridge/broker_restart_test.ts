// Fault test on a Mosquitto of its own (persistence on): after the broker restarts, the bridge
// still hears device replies. Mosquitto 2.0 restores the bridges' persistent sessions without
// their `$share/...` subscriptions, and mqtt.js subscribes again only when no session is present.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto } from "../../faults/mosquitto_broker.ts";
import type { OwnedServer } from "../../faults/owned_server.ts";

const dir = mkdtempSync(join(tmpdir(), "downlink-broker-restart-"));
let broker: OwnedServer;
let f: LifecycleFixture;
let dock: DockSimulator | undefined;

before(async () => {
  broker = await startMosquitto(dir);
  f = await startLifecycleFixture({ env: { MQTT_URL: broker.url } });
});
after(async () => {
  await dock?.stop();
  await f?.stop();
  await broker?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`replies are heard after the broker restarts (${signal})`, async () => {
    const sn = f.device(`restart-${signal}`);
    await dock?.stop();
    dock = await createDockSimulator({ mqttUrl: broker.url, sn });
    const before = await f.submit(sn);
    assert.equal((await f.waitForStatus(before, ["SUCCEEDED"])).status, "SUCCEEDED");

    await dock.stop();
    await broker.stop(signal);
    // The broker forgets the shared subscriptions: until the bridge has subscribed again, a
    // reply would be dropped for want of a subscriber, and /readyz names the reply path.
    const readyz = async () =>
      (await (await fetch(`${f.harness.baseUrl}/readyz`)).json()) as { failed?: string[] };
    let deaf = false;
    for (let i = 0; i < 50 && !deaf; i++) {
      deaf = (await readyz()).failed?.includes("mqtt_replies") ?? false;
      if (!deaf) await new Promise((r) => setTimeout(r, 100));
    }
    await broker.start();
    assert.ok(deaf, "/readyz names mqtt_replies while no reply connection is subscribed");
    dock = await createDockSimulator({ mqttUrl: broker.url, sn });
    // Give the bridge's connections time to come back (they retry every 500 ms).
    const ready = async () => (await fetch(`${f.harness.baseUrl}/readyz`)).status === 200;
    for (let i = 0; i < 100 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 100));

    const afterRestart = await f.submit(sn, { timeout_seconds: 15 });
    const done = await f.waitForStatus(
      afterRestart,
      ["SUCCEEDED", "FAILED", "TIMED_OUT"],
      20_000,
    );
    assert.equal(done.status, "SUCCEEDED", "the dock's reply was heard");
  });
}
