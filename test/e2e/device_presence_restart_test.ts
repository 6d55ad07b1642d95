// Presence across a restart: the registry a shard takes over comes from Postgres, and a gateway
// is aged by its last_seen_at, not by when the new process started.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { loadConfig } from "../../src/runtime/config.ts";
import { type Downlink, startDownlink } from "../../src/composition_root.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient } from "../../src/client/downlink_client.ts";
import type { DeviceEvent } from "../../src/device/device_event.ts";
import { dropNamespace, testEnv } from "../support/harness.ts";
import { openNats } from "../../src/composition_root.ts";

const OFFLINE_AFTER_SECONDS = 3;
const config = loadConfig(testEnv({
  DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS),
  // Stable across the restart: the new process takes its own leases back at once.
  DOWNLINK_INSTANCE_ID: `presence-${crypto.randomUUID().slice(0, 8)}`,
}));
const running: Downlink[] = [];

after(async () => {
  await Promise.allSettled(running.map((d) => d.stop()));
  await dropNamespace(config);
});

async function start(): Promise<Downlink> {
  const d = await startDownlink(config, {
    log: createLogger(config.logLevel, { ns: config.namespace }),
  });
  running.push(d);
  return d;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("a restarted Downlink knows the dock is online, and takes it offline by its last message", async () => {
  const first = await start();
  const sn = `restart-${crypto.randomUUID().slice(0, 8)}`;
  const { client, secret } = await createPostgresClientStore(
    first.context.sql,
    first.context.cipher,
  ).createClient({ tenantId: `tenant_${sn.slice(8)}`, name: "presence restart", devices: [sn] });
  const nc = await openNats(config.natsUrl, "presence-restart-test");
  const events: DeviceEvent[] = [];
  const sub = nc.subscribe(`downlink.device.${sn}.*`);
  void (async () => {
    for await (const m of sub) events.push(m.json<DeviceEvent>());
  })();
  await nc.flush();
  const dock = await mqtt.connectAsync(config.mqttUrl, {
    clientId: `dock-${sn}`,
    protocolVersion: 5,
  });
  try {
    const replies: unknown[] = [];
    dock.on("message", (_t, p) => replies.push(JSON.parse(p.toString())));
    await dock.subscribeAsync(`sys/product/${sn}/status_reply`, { qos: 1 });
    await dock.publishAsync(
      `sys/product/${sn}/status`,
      JSON.stringify({
        tid: "t-1",
        bid: "b-1",
        timestamp: Date.now(),
        method: "update_topo",
        data: { domain: "3", type: 1, sub_type: 0, sub_devices: [] },
      }),
      { qos: 1 },
    );
    await until("status_reply", async () => replies.length > 0 ? true : undefined);
    const lastMessageAt = Date.now();
    await first.stop();

    const second = await start();
    const http = createDownlinkClient({
      baseUrl: `http://127.0.0.1:${second.port}`,
      clientId: client.client_id,
      secret,
    });
    const restored = await http.getDevice(sn);
    assert.equal(restored.status, 200);
    assert.equal(restored.body.model, "DJI Dock");
    // Unless the restart took longer than the delay, the dock is still online.
    if (Date.now() - lastMessageAt < (OFFLINE_AFTER_SECONDS - 1) * 1_000) {
      assert.equal(restored.body.online, true);
    }
    const offline = await until(
      "the offline event",
      async () => events.find((e) => e.event_type === "device.offline"),
      (OFFLINE_AFTER_SECONDS + 5) * 1_000,
    );
    const silentFor = Date.parse(offline.occurred_at) - lastMessageAt;
    assert.ok(silentFor >= (OFFLINE_AFTER_SECONDS - 1) * 1_000, `offline after ${silentFor} ms`);
    assert.ok(silentFor < (OFFLINE_AFTER_SECONDS + 3) * 1_000, `offline after ${silentFor} ms`);
    assert.equal((await http.getDevice(sn)).body.online, false);
    assert.deepEqual(events.map((e) => e.event_type), [
      "device.online",
      "device.topology",
      "device.offline",
    ]);
  } finally {
    sub.unsubscribe();
    await nc.close();
    await dock.endAsync();
  }
});
