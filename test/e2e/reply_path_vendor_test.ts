// The bridge's reply-path probes travel on the first registered vendor's reply topic, whatever
// its shape: a Downlink serving only a vendor other than DJI sends them on that vendor's topic and
// hands another bridge's probe taken there back over NATS (reply_path_probe.ts); a dock's topic
// that merely contains the probe prefix is not a probe's.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { type Harness, startHarness } from "../support/harness.ts";
import { openNats } from "../../src/composition_root.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { PROBE_GATEWAY_PREFIX } from "../../src/bridge/reply_path_probe.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";
import { startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator } from "../../src/cli/dock_simulate.ts";

let h: Harness;
let watcher: MqttClient;

before(async () => {
  h = await startHarness({ vendors: [acmeAdapter] });
  watcher = await mqtt.connectAsync(h.config.mqttUrl, {
    clientId: `probe-watch-${crypto.randomUUID().slice(0, 8)}`,
  });
});

after(async () => {
  await watcher?.endAsync();
  await h?.stop();
});

test("a bridge serving acme alone probes on acme's reply topic", async () => {
  const seen = new Promise<string>((resolve) =>
    watcher.on("message", (topic) => {
      // This Downlink's probes (others may share the broker).
      if (topic.includes(`/${PROBE_GATEWAY_PREFIX}.${h.config.namespace}.`)) resolve(topic);
    })
  );
  await watcher.subscribeAsync(["acme/+/ack", "thing/product/+/services_reply"], { qos: 1 });
  // Probes go every 5 s.
  const topic = await Promise.race([
    seen,
    new Promise<string>((_, reject) =>
      setTimeout(() => reject(new Error("no probe within 8 s")), 8_000)
    ),
  ]);
  assert.match(topic, new RegExp(`^acme/${PROBE_GATEWAY_PREFIX}\\.[^/]+/ack$`));
});

test("another bridge's probe taken on acme's topic is handed back to it over NATS", async () => {
  const nc = await openNats(h.config.natsUrl, "probe-test");
  try {
    const names = topologyNames(h.config.namespace);
    const sub = nc.subscribe(names.replyProbeSubject("other-bridge"), { max: 1 });
    await nc.flush();
    await watcher.publishAsync(
      `acme/${PROBE_GATEWAY_PREFIX}.${h.config.namespace}.other-bridge/ack`,
      JSON.stringify({ method: "downlink_probe", data: { sent_at: 12345 } }),
      { qos: 1 },
    );
    const handed = await Promise.race([
      (async () => {
        for await (const m of sub) return m.string();
      })(),
      new Promise<string>((_, reject) =>
        setTimeout(() => reject(new Error("not handed back within 5 s")), 5_000)
      ),
    ]);
    assert.equal(handed, "12345");
  } finally {
    await nc.close();
  }
});

test("a dock whose serial contains the probe prefix has its replies taken as replies", async () => {
  // A DJI serial may contain "_downlink-probe." inside a topic level; only a whole level that
  // starts with it is a probe's.
  const f = await startLifecycleFixture();
  const sn = f.device(`x${PROBE_GATEWAY_PREFIX}.y`);
  const dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0 });
  try {
    const id = await f.submit(sn, { timeout_seconds: 10 });
    const body = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);
    assert.equal(body.status, "SUCCEEDED");
  } finally {
    await dock.stop();
    await f.stop();
  }
});
