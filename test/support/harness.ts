// Starts a real Downlink (Postgres, NATS, MQTT) in this process, isolated in its own namespace
// and Postgres schema so test files never see each other's messages; stop() cleans up.
import { type Config, loadConfig, type Role } from "../../src/config.ts";
import { type Downlink, startDownlink } from "../../src/main.ts";
import { createLogger } from "../../src/log.ts";
import { connectNats, deleteNamespaceStreams } from "../../src/bus/nats.ts";
import { createSql } from "../../src/store/db.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import type { Clock } from "../../src/time.ts";
import { testEnv } from "./test_env.ts";

export { testEnv, uniqueName } from "./test_env.ts";

export interface Harness {
  config: Config;
  downlink: Downlink;
  baseUrl: string;
  stop(): Promise<void>;
}

export async function startHarness(
  options: { roles?: Role[]; env?: Record<string, string>; clock?: Clock } = {},
): Promise<Harness> {
  const env = testEnv({
    ...(options.roles ? { DOWNLINK_ROLES: options.roles.join(",") } : {}),
    ...options.env,
  });
  const config = loadConfig(env);
  const downlink = await startDownlink(config, {
    log: createLogger(config.logLevel, { ns: config.namespace }),
    clock: options.clock,
  });
  return {
    config,
    downlink,
    baseUrl: `http://127.0.0.1:${downlink.port ?? 0}`,
    async stop() {
      await downlink.stop();
      await dropNamespace(config);
    },
  };
}

/** Removes a test namespace: its JetStream streams and buckets, and its Postgres schema. */
export async function dropNamespace(config: Config): Promise<void> {
  const nc = await connectNats(config.natsUrl, "harness-cleanup");
  await deleteNamespaceStreams(nc, topologyNames(config.namespace));
  await nc.close();
  const sql = createSql(config, { max: 1 });
  await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
  await sql.end({ timeout: 1 });
}
