// The composition root: the one place that builds the real pieces (Postgres pool, data cipher,
// NATS connection, publishers, the registered vendors, clock default), hands them to the roles as a
// RoleContext and starts the roles. src/main.ts, the CLI, the tests, bench, faults and soak all
// wire through it; test/tools/wiring_outside_root_test.ts fails on wiring built anywhere else.
import process from "node:process";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Config, ConfigError, type Role } from "./runtime/config.ts";
import { createLogger, type Logger } from "./runtime/log.ts";
import { type Clock, systemClock } from "./async/time.ts";
import { createSql, type Sql } from "./store/db.ts";
import { runMigrations } from "./store/migrations.ts";
import { checkDataKey } from "./store/data_key_check.ts";
import { type ClientStore, createPostgresClientStore } from "./store/client_store.ts";
import { connectNats, ensureStreams } from "./bus/nats.ts";
import { topologyNames } from "./bus/subjects.ts";
import { createEventPublisher } from "./bus/event_publisher.ts";
import { createAckedPublisher } from "./bus/acked_publisher.ts";
import { createDataCipher, type DataCipher } from "./crypto/data_key.ts";
import type { RoleContext, RunningRole } from "./role_context.ts";
import { startApiRole } from "./http/api_role.ts";
import type { Readiness } from "./http/health.ts";
import type { ApiEnv } from "./http/api_env.ts";
import type { Hono } from "hono";
import { startShardRole } from "./shard/shard_role.ts";
import { createActorStepper, type HostedMachines } from "./shard/actor_step.ts";
import { deviceShardMachine } from "../machines/device_shard_machine.ts";
import { commandMachine, spawnableCommand } from "../machines/command_machine.ts";
import { startBridgeRole } from "./bridge/bridge_role.ts";
import { createJetStreamLink } from "./link/jetstream_link.ts";
import { createInProcessLink } from "./link/in_process_link.ts";
import { checkMqttReachable, createMqttProbe } from "./bridge/mqtt_probe.ts";
import { reachDependency } from "./runtime/dependency_unreachable.ts";
import { roleCounters } from "./runtime/metrics.ts";
import { startQueueVacuum } from "./store/queue_vacuum.ts";
import type { VendorAdapter } from "./vendors/vendor_adapter.ts";
import { type VendorRegistry, vendorRegistry } from "./vendors/vendor_registry.ts";
import { djiAdapter } from "./vendors/dji/dji_adapter.ts";

/** The device vendors Downlink serves: a second vendor is its folder under src/vendors/ and one
 * entry here. The first is the one a message that names no vendor is for. */
export const vendors: VendorRegistry = vendorRegistry([djiAdapter]);

/** DJI's adapter, for the tests and tools that speak DJI. */
export const vendor: VendorAdapter = djiAdapter;

/** The machines a device host runs, with `.provide()` here and nowhere else: their named effects
 * only report to the host's stepper, which returns them from each step for the host to run by
 * type and params (src/shard/actor_step.ts). A pair per host: a stepper files the actions of the
 * one step under way. */
export function hostedMachines(): HostedMachines {
  const stepper = createActorStepper();
  return {
    stepper,
    device: deviceShardMachine.provide({
      actions: stepper.effectsOf(deviceShardMachine) as never,
      actors: {
        command: spawnableCommand(
          commandMachine.provide({ actions: stepper.effectsOf(commandMachine) as never }),
        ),
      },
    }),
  };
}

/** A Postgres pool on Downlink's schema; `poolSize` defaults to DOWNLINK_DB_POOL. Nothing is
 * migrated: see openStorage for that. */
export function openPostgres(
  config: Pick<Config, "databaseUrl" | "dbSchema" | "dbPool">,
  options: { poolSize?: number } = {},
): Sql {
  return createSql(config, { max: options.poolSize });
}

/** The cipher of the secrets and payloads at rest, from DOWNLINK_DATA_KEY. */
export function dataCipher(config: Pick<Config, "dataKey">): DataCipher {
  return createDataCipher(config.dataKey);
}

/** A NATS connection named `name` (the name shows in the server's monitoring). */
export function openNats(url: string, name: string): Promise<NatsConnection> {
  return connectNats(url, name);
}

/** The Postgres side alone, ready for use: what the CLI and tests that arrange data need. */
export interface Storage {
  sql: Sql;
  cipher: DataCipher;
  clients: ClientStore;
  close(): Promise<void>;
}

/** Opens Postgres, applies the migrations and checks the data key opens what is stored. */
export async function openStorage(
  config: Config,
  options: { poolSize?: number } = {},
): Promise<Storage> {
  const sql = openPostgres(config, options);
  try {
    await runMigrations(sql, config.dbSchema);
    const cipher = dataCipher(config);
    // Data written under a wrong key could not be opened by the API.
    await checkDataKey(sql, cipher, config.dbSchema);
    return {
      sql,
      cipher,
      clients: createPostgresClientStore(sql, cipher),
      close: () => sql.end({ timeout: 1 }),
    };
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
}

export interface Downlink {
  /** The HTTP port when this process runs the api role. */
  port?: number;
  /** The HTTP app when this process runs the api role (tests call `app.request`). */
  app?: Hono<ApiEnv>;
  context: RoleContext;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
  /** The roles to start; default config.roles. An empty set connects everything and starts no
   * role (a test then starts parts of one on `context`). */
  roles?: ReadonlySet<Role>;
  /** The name of the NATS connection; default `downlink-<instance id>`. */
  natsName?: string;
  /** The api role's port; default config.port. */
  port?: number;
  /** The api role's checks besides Postgres; default the pipeline, NATS, MQTT and, with a
   * bridge, its reply path. */
  readiness?: (context: RoleContext) => Readiness;
  /** The vendors to serve instead of `vendors` (a test registers one of its own). */
  vendors?: readonly VendorAdapter[];
}

/** Starts the roles of `config` in this process; resolves once the API (if any) serves. */
export async function startDownlink(config: Config, options: StartOptions = {}): Promise<Downlink> {
  const log = options.log ?? createLogger(config.logLevel, { instance: config.instanceId });
  const clock = options.clock ?? systemClock;
  const roleSet = options.roles ?? config.roles;
  // Before anything connects: a registration the bridge cannot route stops start-up.
  const served = options.vendors ? vendorRegistry(options.vendors) : vendors;
  if (config.dataKeyIsDevelopment) {
    log.warn("DOWNLINK_DATA_KEY is not set: using the well-known development key", {
      hint: "set DOWNLINK_DATA_KEY (openssl rand -base64 32) and DOWNLINK_ENV=production",
    });
  }

  const sql = openPostgres(config);
  const cipher = dataCipher(config);
  let nc: NatsConnection | undefined;
  try {
    await reachDependency(
      { service: "PostgreSQL", url: config.databaseUrl, variable: "DATABASE_URL" },
      log,
      () => sql`select 1`,
    );
    await runMigrations(sql, config.dbSchema);
    await checkDataKey(sql, cipher, config.dbSchema);
    nc = await reachDependency(
      { service: "NATS", url: config.natsUrl, variable: "NATS_URL" },
      log,
      () => openNats(config.natsUrl, options.natsName ?? `downlink-${config.instanceId}`),
    );
    // Only the bridge needs the broker to work; the API merely reports it in /readyz.
    if (roleSet.has("bridge")) {
      await reachDependency(
        { service: "MQTT", url: config.mqttUrl, variable: "MQTT_URL" },
        log,
        () => checkMqttReachable(config.mqttUrl),
      );
    }
  } catch (err) {
    await nc?.close().catch(() => {});
    await sql.end({ timeout: 1 });
    throw err;
  }
  const names = topologyNames(config.namespace);
  const identity = await claimInstanceId(nc, config, names.instanceSubject(config.instanceId))
    .catch(async (err) => {
      await nc.close();
      await sql.end({ timeout: 1 });
      throw err;
    });
  await ensureStreams(nc, names);

  const publisher = createAckedPublisher(nc, { clock });
  const context: RoleContext = {
    config,
    log,
    clock,
    sql,
    nc,
    names,
    cipher,
    publisher,
    events: createEventPublisher(publisher),
    vendors: served,
  };

  const roles: RunningRole[] = [];
  // The queue tables must not wait for autovacuum (see queue_vacuum.ts).
  const vacuum = roleSet.has("api") || roleSet.has("shard")
    ? startQueueVacuum(openPostgres(config, { poolSize: 1 }), { clock, log })
    : undefined;
  const mqttProbe = roleSet.has("api") && !options.readiness
    ? createMqttProbe(config.mqttUrl)
    : undefined;
  // What carries commands and facts between the roles (DOWNLINK_LINK; see src/link/link.ts):
  // picked here and nowhere else.
  const link = config.link === "local"
    ? createInProcessLink({ publisher, names, nc })
    : createJetStreamLink({ publisher, names });
  let port: number | undefined;
  let app: Hono<ApiEnv> | undefined;
  try {
    // Shard and bridge first: the API should only accept once the pipeline behind it runs.
    const shard = roleSet.has("shard")
      ? await startShardRole(context, { link, machines: hostedMachines() })
      : undefined;
    if (shard) roles.push(shard);
    const bridge = roleSet.has("bridge") ? await startBridgeRole(context, { link }) : undefined;
    if (bridge) roles.push(bridge);
    link.attach({ shard: shard?.end, bridge: bridge?.end });
    if (roleSet.has("api")) {
      const api = await startApiRole(context, {
        port: options.port,
        // Its own connection, so the readiness probe never queues behind the API's statements.
        probeSql: openPostgres(config, { poolSize: 1 }),
        metrics: roleCounters({ shard: shard?.metrics, bridge: bridge?.metrics }),
        link,
        pressure: shard?.pressure,
        readiness: options.readiness?.(context) ?? (async () => ({
          // The shard keeps up (pipeline_pressure.ts); new commands are refused while not.
          ...(shard ? { pipeline: shard.pressure.overloaded() ?? true } : {}),
          nats: !nc.isClosed() && await nc.flush().then(() => true, () => false),
          mqtt: mqttProbe?.connected() ?? false,
          // The bridge of this process hears device replies (see reply_path_probe.ts).
          ...(bridge ? { mqtt_replies: bridge.hearsReplies() } : {}),
        })),
      });
      port = api.port;
      app = api.app;
      roles.push(api);
    }
  } catch (err) {
    await Promise.allSettled(roles.reverse().map((r) => r.stop()));
    link.close();
    await vacuum?.stop();
    await mqttProbe?.close();
    identity.unsubscribe();
    await nc.close().catch(() => {});
    await sql.end({ timeout: 1 });
    throw err;
  }
  log.info("downlink started", {
    roles: [...roleSet].join(","),
    port,
    namespace: config.namespace,
    partitions: config.partitions,
    link: config.link,
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    app,
    context,
    stop: () =>
      stopping ??= (async () => {
        // Reverse order: stop taking requests first, then drain the pipeline.
        for (const role of roles.reverse()) {
          await role.stop().catch((err) => log.error("role failed to stop", { err }));
        }
        link.close();
        await mqttProbe?.close();
        await vacuum?.stop();
        identity.unsubscribe();
        await nc.drain().catch(() => nc.close());
        await sql.end({ timeout: 2 });
        log.info("downlink stopped");
      })(),
  };
}

/** Leases and the bridge's MQTT session are keyed by the instance id, so two live processes
 * sharing one would both drive the same devices. A live holder answers on its instance
 * subject; a crashed one's subscription died with its connection. */
async function claimInstanceId(nc: NatsConnection, config: Config, subject: string) {
  const answer = await nc.request(subject, undefined, { timeout: 1_000 }).then(
    (m) => m.string(),
    () => undefined, // no responders (or no answer): nobody holds the id
  );
  if (answer !== undefined) {
    throw new ConfigError(
      `DOWNLINK_INSTANCE_ID=${config.instanceId} is in use by a running process (${answer}) in namespace ${config.namespace}: give each process its own`,
    );
  }
  return nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(`pid ${process.pid}`);
    },
  });
}
