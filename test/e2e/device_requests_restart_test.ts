// Device requests across a restart: what Downlink owes a dock is read from Postgres by the shard
// that takes the partition, not kept in a timer of the process that received the request. A
// flight_areas_get whose grace passed while no Downlink ran is answered by the next one as it
// starts; a request nobody answers still expires.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { loadConfig } from "../../src/runtime/config.ts";
import { type Downlink, startDownlink } from "../../src/composition_root.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { dropNamespace, testEnv } from "../support/harness.ts";

const GRACE_SECONDS = 2;
const EXPIRY_SECONDS = 10;
const config = loadConfig(testEnv({
  DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: String(GRACE_SECONDS),
  DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS: String(EXPIRY_SECONDS),
  // Stable across the restart: the new process takes its own leases back at once.
  DOWNLINK_INSTANCE_ID: `requests-${crypto.randomUUID().slice(0, 8)}`,
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

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a request's grace and expiry outlive the process that received it", async () => {
  const first = await start();
  const sn = `req-restart-${crypto.randomUUID().slice(0, 8)}`;
  const dock = await mqtt.connectAsync(config.mqttUrl, {
    clientId: `dock-${sn}`,
    protocolVersion: 5,
  });
  const replies: any[] = [];
  dock.on("message", (_t, payload) => replies.push(JSON.parse(payload.toString())));
  await dock.subscribeAsync(`thing/product/${sn}/requests_reply`, { qos: 1 });
  try {
    const ask = async (method: string) => {
      const tid = crypto.randomUUID();
      await dock.publishAsync(
        `thing/product/${sn}/requests`,
        JSON.stringify({ tid, bid: tid, timestamp: Date.now(), gateway: sn, method, data: null }),
        { qos: 1 },
      );
      return tid;
    };
    const sentAt = Date.now();
    const auto = await ask("flight_areas_get");
    const waits = await ask("storage_config_get");
    const sql = first.context.sql;
    const status = async (tid: string) =>
      (await sql`select status from device_requests where gateway_sn = ${sn} and tid = ${tid}`)[0]
        ?.status as string | undefined;
    await until(
      "both recorded",
      async () => (await status(auto)) && (await status(waits)) ? true : undefined,
    );
    await first.stop();
    running.length = 0;
    assert.ok(Date.now() - sentAt < GRACE_SECONDS * 1_000, "stopped before the grace");

    // The grace passes while no Downlink runs: nobody answers.
    await sleep(sentAt + GRACE_SECONDS * 1_000 + 500 - Date.now());
    assert.equal(replies.length, 0);

    const second = await start();
    const reply = await until(
      "the answer from the next process",
      () => replies.find((r) => r.tid === auto),
    );
    assert.deepEqual(reply.data, { result: 0, output: { files: [] } });
    const [row] = await second.context.sql`select status, answered_by from device_requests
      where gateway_sn = ${sn} and tid = ${auto}`;
    assert.deepEqual({ ...row }, { status: "ANSWERED", answered_by: "downlink" });

    const [expired] = await until("the other expired", async () => {
      const rows = await second.context.sql`select status, expires_at, expired_at
        from device_requests where gateway_sn = ${sn} and tid = ${waits}`;
      return rows[0]?.status === "EXPIRED" ? rows : undefined;
    });
    assert.equal(expired.expired_at.getTime(), expired.expires_at.getTime());
    assert.ok(Date.now() >= expired.expires_at.getTime(), "not before its expiry");
    assert.equal(replies.filter((r) => r.tid === waits).length, 0);
    assert.equal(replies.filter((r) => r.tid === auto).length, 1);
  } finally {
    await dock.endAsync();
  }
});
