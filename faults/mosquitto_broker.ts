// The suite's own Mosquitto, with persistence on: a broker that restores saved sessions is part
// of what the scenarios test (Mosquitto 2.0 restores a persistent session without its
// `$share/...` subscriptions).
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { freePort, waitForPort } from "../bench/loopback_port.ts";
import { type OwnedServer, type ServerChild, spawnServer } from "./owned_server.ts";
import { systemUser } from "./system_user.ts";

const BIN = "/usr/sbin/mosquitto";

export async function startMosquitto(dir: string): Promise<OwnedServer> {
  const data = join(dir, "data");
  mkdirSync(data, { recursive: true });
  // Started as root, Mosquitto drops to the user `mosquitto`, which must write its data.
  if (process.getuid?.() === 0) {
    const user = systemUser("mosquitto");
    if (user) chownSync(data, user.uid, user.gid);
  }
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${data}/`,
      "set_tcp_nodelay true",
      "max_inflight_messages 0",
      "max_queued_messages 1000000",
      "max_queued_bytes 0",
      "log_dest stdout",
      "log_type error",
      "log_type warning",
      "log_type notice",
    ].join("\n") + "\n",
  );
  let child: ServerChild | undefined;
  const start = async () => {
    child = spawnServer(BIN, ["-c", conf], join(dir, "mosquitto.log"));
    await waitForPort(port, "mosquitto", 10_000);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async (signal) => await child?.signal(signal),
    start,
    destroy: async () => await child?.signal("SIGKILL"),
  };
}
