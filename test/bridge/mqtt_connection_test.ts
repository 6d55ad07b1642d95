// Start-up against a broker that never answers the connect, or accepts it and never confirms a
// subscription: it fails with the broker named instead of waiting for ever. The waits run on a
// simulated clock: the test moves it past them, and fails if the real time had to pass instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { SimulatedClock } from "xstate";
import type { MqttClient } from "mqtt";
import { connectMqtt } from "../../src/bridge/mqtt_connection.ts";

/** A TCP server that answers CONNECT with an MQTT 5 CONNACK (accepted), or not at all, and
 * ignores the rest. */
async function silentBroker(
  { connack = true } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    if (connack) {
      socket.once("data", () => socket.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])));
    }
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

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
