// A real api role (HTTP server + outbox relay) on the machine's Postgres and NATS, in its own
// namespace and schema, with helpers to make API clients; stop() removes what it created.
// The role is wired by the composition root, as in production.
import type { Hono } from "hono";
import { type Config, loadConfig, type Role } from "../../src/runtime/config.ts";
import { createLogger, type Logger } from "../../src/runtime/log.ts";
import { type Clock, systemClock } from "../../src/async/time.ts";
import type { Sql } from "../../src/store/db.ts";
import { type TopologyNames, topologyNames } from "../../src/bus/subjects.ts";
import type { DataCipher } from "../../src/crypto/data_key.ts";
import type { RoleContext } from "../../src/role_context.ts";
import type { ApiEnv } from "../../src/http/api_env.ts";
import type { ClientStore, NewClient } from "../../src/store/client_store.ts";
import { openNats, openStorage, startDownlink } from "../../src/composition_root.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { dropNamespace } from "./api_cleanup.ts";
import { testEnv } from "./test_env.ts";

export interface TestClient {
  tenant_id: string;
  client_id: string;
  secret: string;
  http: DownlinkClient;
}

export interface ApiFixture {
  config: Config;
  /** Direct to Postgres (not through any proxy): for arranging and asserting. */
  sql: Sql;
  /** Direct to NATS (not through any proxy). */
  nc: NatsConnection;
  names: TopologyNames;
  cipher: DataCipher;
  ctx: RoleContext;
  api?: { port: number; app: Hono<ApiEnv> };
  baseUrl: string;
  clients: ClientStore;
  createClient(options?: Partial<NewClient>): Promise<TestClient>;
  stop(): Promise<void>;
}

export interface ApiFixtureOptions {
  env?: Record<string, string>;
  /** Where the api role reaches Postgres (e.g. through a TcpProxy); default the real one. */
  databaseUrl?: string;
  /** Where the api role reaches NATS; default the real one. */
  natsUrl?: string;
  clock?: Clock;
  /** Start the api role (HTTP + relay); default true. */
  serve?: boolean;
  readiness?: () => Promise<Record<string, boolean>>;
  /** The role's logger; default one at the test log level (silent unless TEST_LOG_LEVEL). */
  log?: Logger;
}

export const SEED_DEVICE = "drone-001";

export async function startApiFixture(options: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const config = loadConfig(testEnv(options.env));
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel, { ns: config.namespace });
  // Direct connections for arranging and asserting, never through a proxy.
  const { sql, cipher, clients } = await openStorage(config, { poolSize: 4 });
  const nc = await openNats(config.natsUrl, `test-${config.namespace}`);
  const names = topologyNames(config.namespace);

  // The role's own connections, possibly through proxies the test controls.
  const roleConfig = {
    ...config,
    databaseUrl: options.databaseUrl ?? config.databaseUrl,
    natsUrl: options.natsUrl ?? config.natsUrl,
  };
  const downlink = await startDownlink(roleConfig, {
    log,
    clock,
    roles: new Set<Role>(options.serve === false ? [] : ["api"]),
    natsName: "test-role",
    port: 0,
    readiness: (ctx) =>
      options.readiness ?? (async () => ({
        nats: !ctx.nc.isClosed() && await ctx.nc.flush().then(() => true, () => false),
      })),
  });
  const ctx = downlink.context;
  const api = downlink.app && { port: downlink.port!, app: downlink.app };
  const baseUrl = `http://127.0.0.1:${api?.port ?? 0}`;

  return {
    config,
    sql,
    nc,
    names,
    cipher,
    ctx,
    api,
    baseUrl,
    clients,
    async createClient(overrides = {}) {
      const { client, secret } = await clients.createClient({
        tenantId: overrides.tenantId ?? `tenant_${crypto.randomUUID().slice(0, 8)}`,
        name: overrides.name ?? "test client",
        devices: overrides.devices ?? [SEED_DEVICE, "dock-*"],
        scopes: overrides.scopes,
        allowedClockSkewSeconds: overrides.allowedClockSkewSeconds,
        replayWindowSeconds: overrides.replayWindowSeconds,
      });
      return {
        tenant_id: client.tenant_id,
        client_id: client.client_id,
        secret,
        http: createDownlinkClient({
          baseUrl,
          clientId: client.client_id,
          secret,
          now: () => Math.floor(clock.now() / 1000),
        }),
      };
    },
    async stop() {
      await downlink.stop();
      await nc.close().catch(() => {});
      await sql.end({ timeout: 1 });
      await dropNamespace(config);
    },
  };
}

/** The seed page's curl body, byte for byte. */
export const SEED_BODY =
  '{"vendor":"dji","device_id":"drone-001","command_type":"fileupload_start","payload":{"bucket":"string","region":"string","credentials":{"access_key_id":"id-001","access_key_secret":"string","expire":0,"security_token":"string"},"endpoint":"string","provider":"string","params":{"files":[{"list":{},"module":"string","object_key":"string"}]}},"idempotency_key":"req-fileupload_start-001","timeout_seconds":30}';

/** A valid fileupload_start body with a fresh idempotency key. */
export function seedCommand(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    ...JSON.parse(SEED_BODY),
    idempotency_key: `key-${crypto.randomUUID()}`,
    ...overrides,
  };
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 5_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** Reads a time the test moves by hand; timers stay real (they only pace background polls). */
export function manualClock(startMs = Date.now()): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    advance(ms) {
      now += ms;
    },
    set(ms) {
      now = ms;
    },
  };
}
