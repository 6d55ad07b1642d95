// The suite's own PostgreSQL cluster: initdb into the run's temp folder, a free port on
// 127.0.0.1, its unix socket beside its data, trust auth. Never the machine's PostgreSQL: a
// scenario stops this one. As root, every PostgreSQL binary runs as the user `postgres`.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import { freePort } from "../bench/loopback_port.ts";
import type { OwnedServer } from "./owned_server.ts";
import { systemUser } from "./system_user.ts";

const run = promisify(execFile);
const DATABASE = "faults";

function binDir(): string {
  for (const dir of ["/usr/lib/postgresql/15/bin", "/usr/local/bin"]) {
    if (existsSync(join(dir, "pg_ctl"))) return dir;
  }
  const found = ["16", "17", "14", "13"].map((v) => `/usr/lib/postgresql/${v}/bin`)
    .find((d) => existsSync(join(d, "pg_ctl")));
  if (!found) throw new Error("no PostgreSQL binaries (pg_ctl) under /usr/lib/postgresql/*/bin");
  return found;
}

export interface PostgresClusterOptions {
  /** Server settings passed as `-c name=value` at every start, e.g. `{ autovacuum: "off" }` for
   * the soak, which must show that Downlink's queue tables stay small without it. */
  settings?: Readonly<Record<string, string>>;
}

export async function startPostgresCluster(
  dir: string,
  options: PostgresClusterOptions = {},
): Promise<OwnedServer> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  mkdirSync(dir, { recursive: true });
  if (asRoot) {
    const user = systemUser("postgres");
    if (!user) throw new Error("running as root needs the system user postgres for initdb");
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const pg = async (tool: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]]
      : [join(bin, tool), args];
    try {
      await run(cmd, argv, { timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
    }
  };
  const data = join(dir, "data");
  const port = await freePort();
  await pg("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
  // fsync off: the faults here crash processes, not the machine, so the page cache survives
  // them, and the two shared cores are spared the flushes.
  const settings = Object.entries(options.settings ?? {}).map(([k, v]) => ` -c ${k}=${v}`).join("");
  const serverArgs =
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200` +
    settings;
  const start = () =>
    pg("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "postgres.log"),
      "-w",
      "-t",
      "60",
      "-o",
      serverArgs,
      "start",
    ]);
  await start();
  await pg("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", DATABASE]);
  const stop = (mode: "fast" | "immediate") =>
    pg("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`,
    stop: (signal) => stop(signal === "SIGTERM" ? "fast" : "immediate"),
    start,
    destroy: () => stop("immediate").catch(() => {}),
  };
}
