// The three services Downlink needs, found or started: for each of PostgreSQL, NATS and the
// MQTT broker, the configured URL wins; else the one answering on the default port is used;
// else an embedded one is started on that port, so every other tool (the CLI, the tests, the
// dock simulator) finds it at the same default address without being told.
import { mkdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { portAnswers } from "./port_answers.ts";
import { stopLeftover } from "./server_process.ts";
import type { EmbeddedServer } from "./embedded_server.ts";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";
import { startEmbeddedNats } from "./embedded_nats.ts";
import { startEmbeddedMosquitto } from "./embedded_mosquitto.ts";
import { type ServiceUser, serviceUser as currentServiceUser } from "./service_user.ts";
import { type Clock, systemClock } from "../async/time.ts";

export const SERVICE_VARIABLES = ["DATABASE_URL", "NATS_URL", "MQTT_URL"] as const;
export type ServiceVariable = typeof SERVICE_VARIABLES[number];

export interface LocalServicesOptions {
  env: Record<string, string | undefined>;
  /** The default URL of each service: where one is looked for, and where one is started. */
  defaults: Readonly<Record<ServiceVariable, string>>;
  /** Holds each embedded server's data, log and pid file. */
  dataDir: string;
  /** Prints one line per service. */
  say: (line: string) => void;
  /** Default: nobody when this process is root, else none. */
  serviceUser?: ServiceUser;
  /** Extra PostgreSQL settings (a test run turns fsync off). */
  postgresSettings?: Readonly<Record<string, string>>;
  /** What the start-up times said and the waits are measured on (default: the system clock). */
  clock?: Clock;
}

export interface LocalServices {
  /** The URL of every service, as the variables would hold it. */
  urls: Record<ServiceVariable, string>;
  /** The services started here, by variable. */
  embedded: Partial<Record<ServiceVariable, EmbeddedServer>>;
  /** Stops the embedded servers, the last started first. */
  stop(): Promise<void>;
}

const NAMES: Record<ServiceVariable, string> = {
  DATABASE_URL: "PostgreSQL",
  NATS_URL: "NATS",
  MQTT_URL: "MQTT broker",
};

function hostPort(url: string, fallbackPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || "127.0.0.1", port: Number(u.port || fallbackPort) };
}

/** Each embedded server's pid file in the data folder, and its orderly stop signal. */
const LEFTOVERS: Record<ServiceVariable, { pidFile: string; signal: NodeJS.Signals }> = {
  DATABASE_URL: { pidFile: "postgres.pid", signal: "SIGINT" },
  NATS_URL: { pidFile: "nats.pid", signal: "SIGTERM" },
  MQTT_URL: { pidFile: "mosquitto.pid", signal: "SIGTERM" },
};

const DEFAULT_PORTS: Record<ServiceVariable, number> = {
  DATABASE_URL: 5432,
  NATS_URL: 4222,
  MQTT_URL: 1883,
};

export async function ensureLocalServices(o: LocalServicesOptions): Promise<LocalServices> {
  const clock = o.clock ?? systemClock;
  const user = o.serviceUser ?? currentServiceUser();
  const shownDir = relative(process.cwd(), o.dataDir) || ".";
  const embedded: Partial<Record<ServiceVariable, EmbeddedServer>> = {};
  const started: EmbeddedServer[] = [];
  const urls = {} as Record<ServiceVariable, string>;
  const stop = async () => {
    for (const server of started.splice(0).reverse()) await server.stop();
  };
  // A server a SIGKILLed Downlink left would answer on the default port and pass for the
  // machine's own, running on unwatched: it goes first, whatever is configured now.
  for (const variable of SERVICE_VARIABLES) {
    const { pidFile, signal } = LEFTOVERS[variable];
    const pid = await stopLeftover(
      join(o.dataDir, pidFile),
      resolve(o.dataDir) + sep,
      signal,
      clock,
    );
    if (pid) {
      o.say(`${NAMES[variable]}: stopped the embedded one a killed Downlink left (pid ${pid})`);
    }
  }
  try {
    for (const variable of SERVICE_VARIABLES) {
      const name = NAMES[variable];
      const configured = o.env[variable];
      if (configured) {
        urls[variable] = configured;
        o.say(`${name}: ${variable} is set, using it`);
        continue;
      }
      const { host, port } = hostPort(o.defaults[variable], DEFAULT_PORTS[variable]);
      if (await portAnswers(host, port, undefined, clock)) {
        urls[variable] = o.defaults[variable];
        o.say(`${name}: using the one answering on ${host}:${port} (${variable} is not set)`);
        continue;
      }
      mkdirSync(o.dataDir, { recursive: true });
      const t0 = clock.now();
      const server = await startOne(variable, { ...o, port, user, path: o.env.PATH });
      started.push(server);
      embedded[variable] = server;
      urls[variable] = server.url;
      const seconds = ((clock.now() - t0) / 1000).toFixed(1);
      o.say(
        `${name}: nothing answers on ${host}:${port} and ${variable} is not set: started an ` +
          `embedded one there (pid ${server.pid}, data in ${shownDir}/, ` +
          `${server.fresh ? "created" : "kept"}, ${seconds} s)`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls, embedded, stop };
}

function startOne(
  variable: ServiceVariable,
  o: LocalServicesOptions & { port: number; user?: ServiceUser; path?: string },
): Promise<EmbeddedServer> {
  switch (variable) {
    case "DATABASE_URL": {
      const url = new URL(o.defaults.DATABASE_URL);
      return startEmbeddedPostgres({
        dataDir: o.dataDir,
        port: o.port,
        user: decodeURIComponent(url.username) || "postgres",
        database: decodeURIComponent(url.pathname.slice(1)) || "postgres",
        serviceUser: o.user,
        settings: o.postgresSettings,
      });
    }
    case "NATS_URL":
      return startEmbeddedNats({
        dataDir: o.dataDir,
        port: o.port,
        path: o.path,
        serviceUser: o.user,
      });
    case "MQTT_URL":
      return startEmbeddedMosquitto({
        dataDir: o.dataDir,
        port: o.port,
        path: o.path,
        serviceUser: o.user,
      });
  }
}
