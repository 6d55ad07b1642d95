// Downlink's configuration: parsed once from the environment into a typed object.
// A bad value stops start-up with a message that names the variable.
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { hostname } from "node:os";
import { decodeDataKey, DEVELOPMENT_DATA_KEY } from "../crypto/data_key.ts";

export const ROLES = ["api", "shard", "bridge"] as const;
export type Role = typeof ROLES[number];

const Env = Type.Object({
  DOWNLINK_ENV: Type.Union([Type.Literal("development"), Type.Literal("production")], {
    default: "development",
  }),
  DATABASE_URL: Type.String({ default: "postgres://postgres@127.0.0.1:5432/test", minLength: 1 }),
  DOWNLINK_DB_SCHEMA: Type.String({ default: "public", pattern: "^[a-z_][a-z0-9_]{0,62}$" }),
  DOWNLINK_DB_POOL: Type.Integer({ default: 10, minimum: 1, maximum: 200 }),
  DOWNLINK_DB_DEADLINE_MS: Type.Integer({ default: 750, minimum: 50, maximum: 60_000 }),
  DOWNLINK_DB_QUEUE_LIMIT: Type.Integer({ default: 2_000, minimum: 1, maximum: 1_000_000 }),
  NATS_URL: Type.String({ default: "nats://127.0.0.1:4222", minLength: 1 }),
  MQTT_URL: Type.String({ default: "mqtt://127.0.0.1:1883", minLength: 1 }),
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: "0.0.0.0" }),
  DOWNLINK_DATA_KEY: Type.Optional(Type.String()),
  DOWNLINK_ROLES: Type.String({ default: "api,shard,bridge" }),
  // What carries commands and facts between the roles (src/link/): JetStream in one process as in
  // many, so the path everyone runs is the path that scales; "local" hands them over in memory
  // where shard and bridge share a process.
  DOWNLINK_LINK: Type.Union(["jetstream", "local"].map((l) => Type.Literal(l)), {
    default: "jetstream",
  }),
  DOWNLINK_INSPECT: Type.Boolean({ default: false }),
  DOWNLINK_NAMESPACE: Type.String({ default: "downlink", pattern: "^[a-z][a-z0-9_]{0,31}$" }),
  DOWNLINK_PARTITIONS: Type.Integer({ default: 16, minimum: 1, maximum: 1024 }),
  DOWNLINK_DEFAULT_TIMEOUT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 300 }),
  DOWNLINK_LOG_LEVEL: Type.Union(
    ["debug", "info", "warn", "error", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
  DOWNLINK_MAX_REPLY_BYTES: Type.Integer({ default: 262144, minimum: 1024 }),
  DOWNLINK_LEASE_TTL_SECONDS: Type.Integer({ default: 15, minimum: 3, maximum: 600 }),
  DOWNLINK_MAX_REPLY_LAG_SECONDS: Type.Number({ default: 5, exclusiveMinimum: 0 }),
  DOWNLINK_MAX_COMMIT_SECONDS: Type.Number({ default: 2, exclusiveMinimum: 0 }),
  DOWNLINK_MAX_IN_FLIGHT: Type.Integer({ default: 200_000, minimum: 1 }),
  // V8 lets its old generation grow up to four times the live objects between collections: at
  // 200 commands/s Downlink's RSS swung 155-260 MiB; held to 40 % it stays within ±6 % (see
  // heap_growth.ts). 0 leaves V8's own heuristic. Held only while the live heap is below
  // DOWNLINK_HEAP_GROWTH_HELD_BELOW_MIB: above, the many full collections cost a burst accepts.
  DOWNLINK_HEAP_GROWTH_PERCENT: Type.Integer({ default: 40, minimum: 0, maximum: 1_000 }),
  DOWNLINK_HEAP_GROWTH_HELD_BELOW_MIB: Type.Integer({ default: 128, minimum: 1 }),
  // DJI's own server declares a device offline 30-60 s after its last message; docks send osd
  // every 2 s (PROTOCOL §8.2, §8.3).
  DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 86_400 }),
  // For a broker path that carries no status topics: presence is never known there, and waiting
  // for it would time every command out.
  DOWNLINK_DELIVER_WHEN_OFFLINE: Type.Boolean({ default: false }),
  // One job per class on a dock (issue 14 item 4): a dock refuses a second job of a class while
  // one runs, so it waits in ACCEPTED. Off for docks that report no progress (simulated loads).
  DOWNLINK_HOLD_BY_CLASS: Type.Boolean({ default: true }),
  // A dock waits about 40 s for an answer to flight_areas_get / offline_map_get before a takeoff
  // (PROTOCOL §2.4): Downlink answers them itself when no client has within the grace period.
  DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: Type.Number({ default: 5, minimum: 0, maximum: 3_600 }),
  // Requests carry no timeout on the cloud side; a dock gives up on its own (40 s before a
  // takeoff, 10 s for DJI's simulator): an answer later than this reaches nobody.
  DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS: Type.Number({
    default: 60,
    exclusiveMinimum: 0,
    maximum: 86_400,
  }),
  DOWNLINK_INSTANCE_ID: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" })),
  DOWNLINK_DATA_DIR: Type.String({ default: ".downlink", minLength: 1 }),
});

/** Where PostgreSQL, NATS and the MQTT broker are looked for when their variable is not set
 * (and, in development, where embedded ones are started when nothing answers there). */
export const DEFAULT_SERVICE_URLS = {
  DATABASE_URL: Env.properties.DATABASE_URL.default as string,
  NATS_URL: Env.properties.NATS_URL.default as string,
  MQTT_URL: Env.properties.MQTT_URL.default as string,
} as const;

export interface Config {
  env: "development" | "production";
  databaseUrl: string;
  dbSchema: string;
  dbPool: number;
  /** How long an API request may wait for Postgres before it is answered 503. */
  dbDeadlineMs: number;
  /** How many accepts (and, apart, nonce claims) may wait for their statement; beyond, 503. */
  dbQueueLimit: number;
  natsUrl: string;
  mqttUrl: string;
  port: number;
  host: string;
  /** 32-byte AES-256-GCM key for secrets at rest. */
  dataKey: Uint8Array;
  /** True when no DOWNLINK_DATA_KEY was given and the well-known development key is in use. */
  dataKeyIsDevelopment: boolean;
  roles: ReadonlySet<Role>;
  inspect: boolean;
  namespace: string;
  partitions: number;
  defaultTimeoutSeconds: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  maxReplyBytes: number;
  leaseTtlSeconds: number;
  instanceId: string;
  /** Past these, new commands are answered 503 with Retry-After (see pipeline_pressure.ts). */
  maxReplyLagSeconds: number;
  maxCommitSeconds: number;
  maxInFlight: number;
  /** How far V8's old generation may grow past its live objects before it is collected, in
   * percent, while the live heap is below `heapGrowthHeldBelowBytes`; 0 leaves V8's own
   * heuristic. */
  heapGrowthPercent: number;
  heapGrowthHeldBelowBytes: number;
  /** A gateway from which nothing came for this long is offline. */
  deviceOfflineAfterSeconds: number;
  /** Development data: the embedded servers' data and the development client's file. */
  dataDir: string;
  /** Publish a command whether or not its gateway is online (false: it waits for the gateway). */
  deliverWhenOffline: boolean;
  /** A command of an exclusivity class waits while a job of its class runs on its dock. */
  holdByClass: boolean;
  /** What carries dispatches, commands and facts between the roles (see src/link/). */
  link: "jetstream" | "local";
  /** How long a request Downlink can answer (flight_areas_get, offline_map_get) waits for a
   * client before Downlink answers it. */
  deviceRequestGraceSeconds: number;
  /** How long a dock's request waits for an answer before it expires. */
  deviceRequestExpirySeconds: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "CONFIG_INVALID";
}

const BOOLEAN_WORDS: Record<string, boolean> = {
  "1": true,
  "true": true,
  "yes": true,
  "on": true,
  "0": false,
  "false": false,
  "no": false,
  "off": false,
  "": false,
};

/** Reads the configuration from `env` (defaults to the process environment). */
export function loadConfig(env: Record<string, string | undefined> = processEnv()): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(Env.properties)) {
    const value = env[key];
    if (value === undefined || value === "") continue;
    const kind = (schema as { type?: string }).type;
    if (kind === "integer") {
      if (!/^-?\d+$/.test(value.trim())) {
        throw new ConfigError(`${key} must be an integer, got ${JSON.stringify(value)}`);
      }
      raw[key] = Number(value);
    } else if (kind === "number") {
      if (!/^-?\d+(\.\d+)?$/.test(value.trim())) {
        throw new ConfigError(`${key} must be a number, got ${JSON.stringify(value)}`);
      }
      raw[key] = Number(value);
    } else if (kind === "boolean") {
      const b = BOOLEAN_WORDS[value.trim().toLowerCase()];
      if (b === undefined) {
        throw new ConfigError(`${key} must be 1/0/true/false, got ${JSON.stringify(value)}`);
      }
      raw[key] = b;
    } else {
      raw[key] = value;
    }
  }
  const withDefaults = Value.Default(Env, raw) as Static<typeof Env>;
  const first = [...Value.Errors(Env, withDefaults)][0];
  if (first) {
    const key = first.path.replace(/^\//, "");
    const seen = JSON.stringify(env[key] ?? null);
    const allowed = allowedValues(Env.properties[key as keyof typeof Env.properties]);
    // TypeBox says "Expected union value" for an enum: the operator needs the list instead.
    throw new ConfigError(
      allowed
        ? `${key} must be one of ${allowed.join(", ")}, got ${seen}`
        : `${key} is invalid: ${first.message}, got ${seen}`,
    );
  }
  const e = withDefaults;

  const roles = new Set<Role>();
  for (const part of e.DOWNLINK_ROLES.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!(ROLES as readonly string[]).includes(part)) {
      throw new ConfigError(
        `DOWNLINK_ROLES must list roles among ${ROLES.join(", ")}: ${
          JSON.stringify(part)
        } is not one, got ${JSON.stringify(e.DOWNLINK_ROLES)}`,
      );
    }
    roles.add(part as Role);
  }
  if (roles.size === 0) throw new ConfigError("DOWNLINK_ROLES must name at least one role");

  let dataKey: Uint8Array;
  let dataKeyIsDevelopment = false;
  if (e.DOWNLINK_DATA_KEY) {
    const decoded = decodeDataKey(e.DOWNLINK_DATA_KEY);
    if (!decoded) {
      throw new ConfigError(
        "DOWNLINK_DATA_KEY must be 32 bytes encoded as base64 (make one with: openssl rand -base64 32)",
      );
    }
    dataKey = decoded;
  } else if (e.DOWNLINK_ENV === "development") {
    dataKey = DEVELOPMENT_DATA_KEY;
    dataKeyIsDevelopment = true;
  } else {
    throw new ConfigError(
      "DOWNLINK_DATA_KEY is required when DOWNLINK_ENV=production (32 bytes, base64: openssl rand -base64 32)",
    );
  }

  return {
    env: e.DOWNLINK_ENV,
    databaseUrl: e.DATABASE_URL,
    dbSchema: e.DOWNLINK_DB_SCHEMA,
    dbPool: e.DOWNLINK_DB_POOL,
    dbDeadlineMs: e.DOWNLINK_DB_DEADLINE_MS,
    dbQueueLimit: e.DOWNLINK_DB_QUEUE_LIMIT,
    natsUrl: e.NATS_URL,
    mqttUrl: e.MQTT_URL,
    port: e.PORT,
    host: e.HOST,
    dataKey,
    dataKeyIsDevelopment,
    roles,
    inspect: e.DOWNLINK_INSPECT,
    namespace: e.DOWNLINK_NAMESPACE,
    partitions: e.DOWNLINK_PARTITIONS,
    defaultTimeoutSeconds: e.DOWNLINK_DEFAULT_TIMEOUT_SECONDS,
    logLevel: e.DOWNLINK_LOG_LEVEL as Config["logLevel"],
    maxReplyBytes: e.DOWNLINK_MAX_REPLY_BYTES,
    leaseTtlSeconds: e.DOWNLINK_LEASE_TTL_SECONDS,
    instanceId: e.DOWNLINK_INSTANCE_ID ?? defaultInstanceId(),
    maxReplyLagSeconds: e.DOWNLINK_MAX_REPLY_LAG_SECONDS,
    maxCommitSeconds: e.DOWNLINK_MAX_COMMIT_SECONDS,
    maxInFlight: e.DOWNLINK_MAX_IN_FLIGHT,
    heapGrowthPercent: e.DOWNLINK_HEAP_GROWTH_PERCENT,
    heapGrowthHeldBelowBytes: e.DOWNLINK_HEAP_GROWTH_HELD_BELOW_MIB * 2 ** 20,
    deviceOfflineAfterSeconds: e.DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS,
    dataDir: e.DOWNLINK_DATA_DIR,
    deliverWhenOffline: e.DOWNLINK_DELIVER_WHEN_OFFLINE,
    holdByClass: e.DOWNLINK_HOLD_BY_CLASS,
    link: e.DOWNLINK_LINK as Config["link"],
    deviceRequestGraceSeconds: e.DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS,
    deviceRequestExpirySeconds: e.DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS,
  };
}

/** The values of an enum-like variable (a union of literals); undefined for any other schema. */
function allowedValues(schema: unknown): string[] | undefined {
  const members = (schema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf;
  if (!members?.length || !members.every((m) => typeof m.const === "string")) return undefined;
  return members.map((m) => m.const as string);
}

/** The host name: stable across restarts, so a restarted process takes its own partition
 * leases and MQTT session back at once instead of waiting for them to expire. */
function defaultInstanceId(): string {
  const id = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  return id || "downlink";
}

function processEnv(): Record<string, string | undefined> {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ??
    {};
}
