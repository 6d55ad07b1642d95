// Removes a test namespace (JetStream streams and buckets, Postgres schema) without loading
// the composition root, so API tests run before the shard and bridge roles exist.
import type { Config } from "../../src/config.ts";
import { connectNats, deleteNamespaceStreams } from "../../src/bus/nats.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { createSql } from "../../src/store/db.ts";

export async function dropNamespace(config: Config): Promise<void> {
  const nc = await connectNats(config.natsUrl, "api-fixture-cleanup");
  await deleteNamespaceStreams(nc, topologyNames(config.namespace));
  await nc.close();
  const sql = createSql(config, { max: 1 });
  await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
  await sql.end({ timeout: 1 });
}
