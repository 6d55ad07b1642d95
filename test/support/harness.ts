// Starts a real Downlink (Postgres, NATS, MQTT) in this process, isolated in its own namespace
// and Postgres schema so test files never see each other's messages; stop() cleans up.
import { type Config, loadConfig, type Role } from "../../src/runtime/config.ts";
import { type Downlink, startDownlink } from "../../src/composition_root.ts";
import { createLogger } from "../../src/runtime/log.ts";
import type { Clock } from "../../src/async/time.ts";
import type { VendorAdapter } from "../../src/vendors/vendor_adapter.ts";
import { testEnv } from "./test_env.ts";
import { dropNamespace } from "./api_cleanup.ts";

export { testEnv, uniqueName } from "./test_env.ts";
export { dropNamespace } from "./api_cleanup.ts";

export interface Harness {
  config: Config;
  downlink: Downlink;
  baseUrl: string;
  stop(): Promise<void>;
}

export async function startHarness(
  options: {
    roles?: Role[];
    env?: Record<string, string>;
    clock?: Clock;
    /** The vendors to register instead of the root's (a test's own vendor beside DJI). */
    vendors?: readonly VendorAdapter[];
  } = {},
): Promise<Harness> {
  const env = testEnv({
    ...(options.roles ? { DOWNLINK_ROLES: options.roles.join(",") } : {}),
    ...options.env,
  });
  const config = loadConfig(env);
  const downlink = await startDownlink(config, {
    log: createLogger(config.logLevel, { ns: config.namespace }),
    clock: options.clock,
    ...(options.vendors ? { vendors: options.vendors } : {}),
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
