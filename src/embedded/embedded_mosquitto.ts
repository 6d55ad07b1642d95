// An MQTT broker for a machine that runs none: `mosquitto` from PATH, on 127.0.0.1, its
// persistence in the data folder. Not the in-process aedes: Downlink's bridge connects with
// MQTT 5 and shares device replies through `$share/...` subscriptions, and aedes 1.2 refuses
// MQTT 5 connections ("Unacceptable protocol version") and treats `$share/g/t` as a plain topic.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { requireBinary } from "./server_binary.ts";
import { startServerProcess } from "./server_process.ts";
import { giveTo, type ServiceUser } from "./service_user.ts";
import type { EmbeddedServer } from "./embedded_server.ts";

export const MOSQUITTO_INSTALL = "apt install mosquitto, brew install mosquitto, or " +
  "https://mosquitto.org/download/";

export interface EmbeddedMosquittoOptions {
  /** Holds `mosquitto/` (its persistence), `mosquitto.conf`, `mosquitto.log`, `mosquitto.pid`. */
  dataDir: string;
  port: number;
  /** The PATH to look for mosquitto in. */
  path: string | undefined;
  serviceUser?: ServiceUser;
}

export async function startEmbeddedMosquitto(
  o: EmbeddedMosquittoOptions,
): Promise<EmbeddedServer> {
  const bin = requireBinary("mosquitto", o.path, {
    service: "MQTT",
    variable: "MQTT_URL",
    install: MOSQUITTO_INSTALL,
  });
  const store = resolve(o.dataDir, "mosquitto");
  const pidFile = join(o.dataDir, "mosquitto.pid");
  const fresh = mkdirSync(store, { recursive: true, mode: 0o700 }) !== undefined;
  giveTo(store, o.serviceUser);
  const config = join(o.dataDir, "mosquitto.conf");
  writeFileSync(
    config,
    [
      "# Written by Downlink at each start of its embedded broker.",
      `listener ${o.port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${store}/`,
      "",
    ].join("\n"),
  );
  const server = await startServerProcess({
    service: "MQTT broker",
    bin,
    args: ["-c", config],
    host: "127.0.0.1",
    port: o.port,
    logFile: join(o.dataDir, "mosquitto.log"),
    pidFile,
    user: o.serviceUser,
  });
  return { url: `mqtt://127.0.0.1:${o.port}`, pid: server.pid, fresh, stop: server.stop };
}
