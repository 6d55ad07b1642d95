// NATS with JetStream for a machine that runs none: `nats-server -js` from PATH (no npm package
// ships it), on 127.0.0.1, its store in the data folder so streams and KV survive a restart.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { requireBinary } from "./server_binary.ts";
import { startServerProcess } from "./server_process.ts";
import { giveTo, type ServiceUser } from "./service_user.ts";
import type { EmbeddedServer } from "./embedded_server.ts";

export const NATS_INSTALL = "apt install nats-server, brew install nats-server, or a release " +
  "from https://github.com/nats-io/nats-server/releases";

export interface EmbeddedNatsOptions {
  /** Holds `nats/` (the JetStream store), `nats.log` and `nats.pid`. */
  dataDir: string;
  port: number;
  /** The PATH to look for nats-server in. */
  path: string | undefined;
  serviceUser?: ServiceUser;
}

export async function startEmbeddedNats(o: EmbeddedNatsOptions): Promise<EmbeddedServer> {
  const bin = requireBinary("nats-server", o.path, {
    service: "NATS",
    variable: "NATS_URL",
    install: NATS_INSTALL,
  });
  const store = resolve(o.dataDir, "nats");
  const pidFile = join(o.dataDir, "nats.pid");
  mkdirSync(store, { recursive: true, mode: 0o700 });
  giveTo(store, o.serviceUser);
  const fresh = !existsSync(join(store, "jetstream"));
  const server = await startServerProcess({
    service: "NATS",
    bin,
    args: ["-a", "127.0.0.1", "-p", String(o.port), "-js", "-sd", store],
    host: "127.0.0.1",
    port: o.port,
    logFile: join(o.dataDir, "nats.log"),
    pidFile,
    user: o.serviceUser,
  });
  return { url: `nats://127.0.0.1:${o.port}`, pid: server.pid, fresh, stop: server.stop };
}
