// Start-up against a broker that never answers the connect, or accepts it and never confirms a
// subscription: it fails with the broker named instead of waiting for ever. The waits run on a
// simulated clock: the test moves it past them, and fails if the real time had to pass instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import type { MqttClient } from "mqtt";
import { connectMqtt } from "../../src/bridge/mqtt_connection.ts";
import { silentBroker } from "../support/silent_broker.ts";

/** `p`, or a rejection once a real second passed: the simulated wait did not end it. */
function soon<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("still waiting after a real second")), 1_000);
    }),
  ]).finally(() => clearTimeout(timer));
}

test("a broker that never answers the connect fails start-up once the clock passes 10 s", async () => {
  const broker = await silentBroker({ connack: false });
  const clock = new SimulatedClock();
  try {
    const connecting = connectMqtt({ url: broker.url, clientId: "connack-test", clock });
    clock.increment(10_000);
    await assert.rejects(
      soon(connecting),
      new RegExp(`MQTT broker ${broker.url} did not answer within 10 s`),
    );
  } finally {
    await broker.close();
  }
});

test("a subscription the broker never confirms fails start-up, naming the broker", async () => {
  const broker = await silentBroker();
  const clock = new SimulatedClock();
  try {
    let client: MqttClient | undefined;
    const connecting = connectMqtt({
      url: broker.url,
      clientId: "suback-test",
      subscriptions: ["$share/g/thing/product/+/services_reply"],
      answerTimeoutMs: 5_000,
      clock,
      onCreated: (c) => client = c,
    });
    // The SUBACK's wait starts once the broker accepted the connection.
    await new Promise((r) => client!.once("connect", r));
    await new Promise((r) => setImmediate(r));
    clock.increment(5_000);
    await assert.rejects(
      soon(connecting),
      new RegExp(`MQTT broker ${broker.url} did not confirm the subscriptions within 5 s`),
    );
  } finally {
    await broker.close();
  }
});
