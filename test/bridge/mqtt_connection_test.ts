// Start-up against a broker that accepts the connection and never confirms a subscription: it
// fails with the broker named instead of waiting for ever.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { connectMqtt } from "../../src/bridge/mqtt_connection.ts";

/** A TCP server that answers CONNECT with an MQTT 5 CONNACK (accepted) and ignores the rest. */
async function silentBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("data", () => socket.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])));
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

test("a subscription the broker never confirms fails start-up, naming the broker", async () => {
  const broker = await silentBroker();
  try {
    await assert.rejects(
      connectMqtt({
        url: broker.url,
        clientId: "suback-test",
        subscriptions: ["$share/g/thing/product/+/services_reply"],
        answerTimeoutMs: 300,
      }),
      new RegExp(`MQTT broker ${broker.url} did not confirm the subscriptions within 0.3 s`),
    );
  } finally {
    await broker.close();
  }
});
