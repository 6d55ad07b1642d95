// The suite's own nats-server with JetStream, its store in the run's temp folder, never the
// machine's NATS: a scenario restarts it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForPort } from "../bench/loopback_port.ts";
import { type OwnedServer, type ServerChild, spawnServer } from "./owned_server.ts";

const BIN = "/usr/sbin/nats-server";

export async function startNatsServer(dir: string): Promise<OwnedServer> {
  mkdirSync(join(dir, "store"), { recursive: true });
  const port = await freePort();
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(dir, "store")];
  let child: ServerChild | undefined;
  const start = async () => {
    child = spawnServer(BIN, args, join(dir, "nats.log"));
    await waitForPort(port, "nats-server", 15_000);
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async (signal) => await child?.signal(signal),
    start,
    destroy: async () => await child?.signal("SIGKILL"),
  };
}
