// The Postgres connection pool (postgres.js), pinned to Downlink's schema, with its sockets kept
// so a pool whose connections stopped answering can be made to start afresh (dropConnections).
import net from "node:net";
import postgres from "postgres";
import type { Config } from "../runtime/config.ts";

export type Sql = postgres.Sql<Record<string, never>>;

const poolSockets = new WeakMap<object, Set<net.Socket>>();

export function createSql(
  config: Pick<Config, "databaseUrl" | "dbSchema" | "dbPool">,
  options: { max?: number } = {},
): Sql {
  const sockets = new Set<net.Socket>();
  let attempt = 0;
  const sql = postgres(config.databaseUrl, {
    max: options.max ?? config.dbPool,
    onnotice: () => {},
    // A connection attempt into a partition waits this long before it starts again, so the
    // pool finds a healed network within about this time (a local connect takes milliseconds).
    connect_timeout: 2,
    // postgres.js waits before reconnecting by default up to 3^n/100 s (20 s at most), n counting
    // failed connects pool-wide: after ten refusals a query waited 20 s, and went on waiting
    // after Postgres was back (measured: issue 12). A short, capped wait still keeps a down
    // Postgres from being hammered, and the pool back within half a second.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
    idle_timeout: 30,
    connection: { search_path: config.dbSchema, application_name: "downlink" },
    // Our own sockets, so dropConnections can close them: a connection whose peer stopped
    // answering (a partition) otherwise keeps its statements until TCP gives up, minutes later.
    socket: ({ host, port, path }: { host: string[]; port: number[]; path?: string | false }) => {
      const i = attempt++ % host.length;
      const socket = path ? net.connect(path) : net.connect(port[i] ?? port[0], host[i]);
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      return socket;
    },
  } as postgres.Options<Record<string, never>>) as unknown as Sql;
  poolSockets.set(sql, sockets);
  return sql;
}

/**
 * Closes every connection of a pool made by createSql, as if the network had reset them: their
 * statements fail with CONNECTION_CLOSED, and postgres.js connects afresh for the next ones.
 * Nothing a closed socket held is sent afterwards. Returns how many connections were closed.
 */
export function dropConnections(sql: Sql): number {
  const sockets = poolSockets.get(sql);
  if (!sockets) return 0;
  const count = sockets.size;
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  return count;
}
