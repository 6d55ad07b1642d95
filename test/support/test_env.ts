// The environment of a test instance: the machine's services, a fresh namespace and schema.
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function uniqueName(prefix = "t"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const ns = overrides.DOWNLINK_NAMESPACE ?? uniqueName();
  const pick = (k: string) => process.env[k] ? { [k]: process.env[k]! } : {};
  return {
    ...pick("DATABASE_URL"),
    ...pick("NATS_URL"),
    ...pick("MQTT_URL"),
    // The CI runs the e2e suite once per link adapter (DOWNLINK_LINK=local the second time).
    ...pick("DOWNLINK_LINK"),
    DOWNLINK_NAMESPACE: ns,
    DOWNLINK_DB_SCHEMA: ns,
    DOWNLINK_PARTITIONS: "4",
    DOWNLINK_DB_POOL: "4",
    PORT: "0",
    HOST: "127.0.0.1",
    DOWNLINK_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    // A Downlink the tests spawn (src/main.ts) writes its development client file there, not
    // over the developer's .downlink/client.json.
    DOWNLINK_DATA_DIR: join(tmpdir(), "downlink-test-data"),
    // The suite's simulated docks answer several uploads each and report no progress: with one
    // job per class (the default), each would wait for the previous one's deadline. The tests of
    // the hold turn it on.
    DOWNLINK_HOLD_BY_CLASS: "false",
    ...overrides,
  };
}
