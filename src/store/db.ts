// The Postgres connection pool (postgres.js), pinned to Downlink's schema.
import postgres from "postgres";
import type { Config } from "../config.ts";

export type Sql = postgres.Sql<Record<string, never>>;

export function createSql(
  config: Pick<Config, "databaseUrl" | "dbSchema" | "dbPool">,
  options: { max?: number } = {},
): Sql {
  return postgres(config.databaseUrl, {
    max: options.max ?? config.dbPool,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
    connection: { search_path: config.dbSchema, application_name: "downlink" },
  }) as unknown as Sql;
}
