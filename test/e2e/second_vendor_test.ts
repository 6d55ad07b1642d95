// The vendor seam end to end: one Downlink serving DJI and a second vendor defined only in the
// tests (test/support/acme_vendor.ts), registered through the composition root's start function.
// An acme command goes out on acme's topic, its reply comes back on acme's reply topic and is
// mapped by acme's mapReply, while a DJI command of the same run goes over DJI's topics.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { vendor as dji } from "../../src/composition_root.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";
import { CATALOG_PATH } from "../../src/http/catalog.ts";

let f: LifecycleFixture;
let acmeDevice: MqttClient | undefined;
let djiDock: DockSimulator | undefined;
/** What the fake acme device received on its command topic, and what reached DJI's topic for it. */
const acmeReceived: Array<{ topic: string; body: Record<string, any> }> = [];
const onDjiTopic: string[] = [];

before(async () => {
  f = await startLifecycleFixture({ vendors: [dji, acmeAdapter] });
});

after(async () => {
  await acmeDevice?.endAsync();
  await djiDock?.stop();
  await f?.stop();
});

/** A fake acme device: says hello until acknowledged (its presence), answers each command on
 * acme/{sn}/ack: ok while `times` is under 5, else refused with code E_TOO_MANY. */
async function startAcmeDevice(sn: string): Promise<void> {
  const client = await mqtt.connectAsync(f.mqttUrl, {
    clientId: `acme-${crypto.randomUUID().slice(0, 8)}`,
  });
  // Closed by after() even when the hello goes unanswered.
  acmeDevice = client;
  let greeted = false;
  client.on("message", (topic, bytes) => {
    const body = JSON.parse(bytes.toString());
    if (topic === `acme/${sn}/hello_ack`) {
      greeted = true;
      return;
    }
    if (topic === `thing/product/${sn}/services`) {
      onDjiTopic.push(body.tid);
      return;
    }
    acmeReceived.push({ topic, body });
    const ok = body.args.times < 5;
    void client.publishAsync(
      `acme/${sn}/ack`,
      JSON.stringify({ id: body.id, ok, code: ok ? "A0" : "E_TOO_MANY" }),
      { qos: 1 },
    );
  });
  await client.subscribeAsync(
    [`acme/${sn}/cmd`, `acme/${sn}/hello_ack`, `thing/product/${sn}/services`],
    { qos: 1 },
  );
  for (let i = 0; i < 100 && !greeted; i++) {
    await client.publishAsync(`acme/${sn}/hello`, JSON.stringify({ hi: true }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(greeted, "the bridge answered the acme device's hello");
}

const acmeSn = () => f.device("acme");
const blink = (times: number) => ({
  vendor: "acme",
  command_type: "blink",
  payload: { times },
});

test("an acme command goes out on acme's topic and its acme reply makes it SUCCEEDED", async () => {
  await startAcmeDevice(acmeSn());
  const id = await f.submit(acmeSn(), blink(2));

  const body = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);

  assert.equal(body.status, "SUCCEEDED");
  assert.equal(body.vendor, "acme");
  assert.equal(body.response_code, "A0");
  assert.deepEqual(body.vendor_response, { acme_code: "A0" });
  const sent = acmeReceived.find((m) => m.body.id === id);
  assert.deepEqual(sent, {
    topic: `acme/${acmeSn()}/cmd`,
    body: { id, op: "blink", args: { times: 2 } },
  });
  assert.deepEqual(onDjiTopic, [], "nothing went out on DJI's topic for the acme device");
});

test("an acme reply that refuses ends the command FAILED with acme's reason", async () => {
  const id = await f.submit(acmeSn(), blink(7));

  const body = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);

  assert.equal(body.status, "FAILED");
  assert.equal(body.response_code, "E_TOO_MANY");
  assert.equal(body.failure_reason, "Acme device refused: E_TOO_MANY");
});

test("a DJI command in the same run still goes over DJI's topics and DJI's reply mapping", async () => {
  const sn = f.device("dji");
  djiDock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0 });
  const id = await f.submit(sn);

  const body = await f.waitForStatus(id, ["SUCCEEDED", "FAILED", "TIMED_OUT"]);

  assert.equal(body.status, "SUCCEEDED");
  assert.equal(body.vendor, "dji");
  assert.deepEqual(
    djiDock.received.map((m) => [m.topic, m.tid]),
    [[`thing/product/${sn}/services`, id]],
  );
  assert.equal(acmeReceived.some((m) => m.body.id === id), false);
});

test("the API refuses an unregistered vendor naming both, and lists both vendors' catalogs", async () => {
  const res = await f.http.createCommand({ ...blink(1), vendor: "autel" } as never);
  assert.equal(res.status, 400);
  assert.equal((res.body as any).code, "UNSUPPORTED_VENDOR");
  assert.match((res.body as any).message, /must be one of dji, acme, got "autel"/);

  const catalog = (await f.http.request("GET", CATALOG_PATH)).body as any;
  const vendorsListed = new Set(catalog.items.map((i: { vendor: string }) => i.vendor));
  assert.deepEqual([...vendorsListed], ["dji", "acme"]);
  assert.equal(catalog.items.find((i: any) => i.method === "blink").vendor, "acme");
});
