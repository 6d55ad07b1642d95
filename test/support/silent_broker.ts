// A TCP server that plays an MQTT broker gone quiet: how a stuck broker looks to mqtt.js.
import net from "node:net";
import { Buffer } from "node:buffer";

/** A TCP server that answers CONNECT with an MQTT 5 CONNACK (accepted), or not at all, and
 * ignores the rest. */
export async function silentBroker(
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
