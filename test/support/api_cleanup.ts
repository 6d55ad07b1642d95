// Removes a test namespace: its JetStream streams and buckets, and its Postgres schema.
import type { Config } from "../../src/runtime/config.ts";
import { deleteNamespaceStreams } from "../../src/bus/nats.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { openNats, openPostgres } from "../../src/composition_root.ts";

export async function dropNamespace(config: Config): Promise<void> {
  const nc = await openNats(config.natsUrl, "test-cleanup");
  await deleteNamespaceStreams(nc, topologyNames(config.namespace));
  await nc.close();
  const sql = openPostgres(config, { poolSize: 1 });
  await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
  await sql.end({ timeout: 1 });
}
