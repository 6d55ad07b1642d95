// A real api role (HTTP server + outbox relay) on the machine's Postgres and NATS, in its own
// namespace and schema, with helpers to make API clients; stop() removes what it created.
import { type Config, loadConfig } from "../../src/config.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { type Clock, systemClock } from "../../src/time.ts";
import { createSql, type Sql } from "../../src/store/db.ts";
import { runMigrations } from "../../src/store/migrations.ts";
import { connectNats, ensureStreams } from "../../src/bus/nats.ts";
import { type TopologyNames, topologyNames } from "../../src/bus/subjects.ts";
import { createEventPublisher } from "../../src/bus/event_publisher.ts";
import { createAckedPublisher } from "../../src/bus/acked_publisher.ts";
import { createDataCipher, type DataCipher } from "../../src/crypto/data_key.ts";
import type { RoleContext } from "../../src/role_context.ts";
import { type RunningApiRole, startApiRole } from "../../src/http/api_role.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import {
  type ClientStore,
  createPostgresClientStore,
  type NewClient,
} from "../../src/store/client_store.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { dropNamespace } from "./api_cleanup.ts";
import { testEnv } from "./test_env.ts";
import { djiAdapter } from "../../src/vendors/dji/dji_adapter.ts";

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
  api?: RunningApiRole;
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
  const sql = createSql(config, { max: 4 });
  await runMigrations(sql, config.dbSchema);
  const nc = await connectNats(config.natsUrl, `test-${config.namespace}`);
  const names = topologyNames(config.namespace);
  await ensureStreams(nc, names);
  const cipher = createDataCipher(config.dataKey);

  // The role's own connections, possibly through proxies the test controls.
  const roleConfig = {
    ...config,
    databaseUrl: options.databaseUrl ?? config.databaseUrl,
    natsUrl: options.natsUrl ?? config.natsUrl,
  };
  const roleSql = options.databaseUrl ? createSql(roleConfig, { max: 4 }) : sql;
  const roleNc = options.natsUrl ? await connectNats(roleConfig.natsUrl, "test-role") : nc;
  const publisher = createAckedPublisher(roleNc, { clock });
  const ctx: RoleContext = {
    config: roleConfig,
    log,
    clock,
    sql: roleSql,
    nc: roleNc,
    names,
    cipher,
    publisher,
    events: createEventPublisher(publisher),
    vendor: djiAdapter,
  };
  const api = options.serve === false ? undefined : await startApiRole(ctx, {
    // An api alone: no shard next door to hand anything to.
    link: createJetStreamLink(ctx),
    port: 0,
    readiness: options.readiness ?? (async () => ({
      nats: !roleNc.isClosed() && await roleNc.flush().then(() => true, () => false),
    })),
  });
  const clients = createPostgresClientStore(sql, cipher);
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
      await api?.stop();
      if (roleNc !== nc) await roleNc.close().catch(() => {});
      if (roleSql !== sql) await roleSql.end({ timeout: 1 }).catch(() => {});
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
