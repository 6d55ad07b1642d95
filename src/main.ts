// The composition root: reads the configuration, connects the real Postgres, NATS and MQTT,
// and starts the roles this process runs (api, shard, bridge; all three by default).
import process from "node:process";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Config, ConfigError, DEFAULT_SERVICE_URLS, loadConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { limitHeapGrowth } from "./process_memory.ts";
import { type Clock, systemClock } from "./time.ts";
import { createSql } from "./store/db.ts";
import { runMigrations } from "./store/migrations.ts";
import { checkDataKey } from "./store/data_key_check.ts";
import { connectNats, ensureStreams } from "./bus/nats.ts";
import { topologyNames } from "./bus/subjects.ts";
import { createEventPublisher } from "./bus/event_publisher.ts";
import { createAckedPublisher } from "./bus/acked_publisher.ts";
import { createDataCipher } from "./crypto/data_key.ts";
import type { RoleContext, RunningRole } from "./role_context.ts";
import { startApiRole } from "./http/api_role.ts";
import { startShardRole } from "./shard/shard_role.ts";
import { startBridgeRole } from "./bridge/bridge_role.ts";
import { createJetStreamLink } from "./link/jetstream_link.ts";
import { createInProcessLink } from "./link/in_process_link.ts";
import { checkMqttReachable, createMqttProbe } from "./bridge/mqtt_probe.ts";
import { DependencyUnreachableError, reachDependency } from "./dependency_unreachable.ts";
import { roleCounters } from "./metrics.ts";
import { startQueueVacuum } from "./store/queue_vacuum.ts";
import { createPostgresClientStore } from "./store/client_store.ts";
import { ensureLocalServices, type LocalServices } from "./embedded/local_services.ts";
import { MissingBinaryError } from "./embedded/server_binary.ts";
import { ServerStartError } from "./embedded/server_process.ts";
import { ServiceUserError } from "./embedded/service_user.ts";
import { ensureDevClient } from "./dev/dev_client.ts";
import { runDemo } from "./dev/demo.ts";
import { SEED_COMMAND } from "./vendors/dji/seed_command.ts";
import type { DockSimulator } from "./cli/dock_simulate.ts";
import { djiAdapter } from "./vendors/dji/dji_adapter.ts";

export interface Downlink {
  /** The HTTP port when this process runs the api role. */
  port?: number;
  context: RoleContext;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
}

/** Starts every role of `config` in this process; resolves once the API (if any) serves. */
export async function startDownlink(config: Config, options: StartOptions = {}): Promise<Downlink> {
  const log = options.log ?? createLogger(config.logLevel, { instance: config.instanceId });
  const clock = options.clock ?? systemClock;
  if (config.dataKeyIsDevelopment) {
    log.warn("DOWNLINK_DATA_KEY is not set: using the well-known development key", {
      hint: "set DOWNLINK_DATA_KEY (openssl rand -base64 32) and DOWNLINK_ENV=production",
    });
  }

  const sql = createSql(config);
  const cipher = createDataCipher(config.dataKey);
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
      () => connectNats(config.natsUrl, `downlink-${config.instanceId}`),
    );
    // Only the bridge needs the broker to work; the API merely reports it in /readyz.
    if (config.roles.has("bridge")) {
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
    vendor: djiAdapter,
  };

  const roles: RunningRole[] = [];
  // The queue tables must not wait for autovacuum (see queue_vacuum.ts).
  const vacuum = config.roles.has("api") || config.roles.has("shard")
    ? startQueueVacuum(sql, { clock, log })
    : undefined;
  const mqttProbe = config.roles.has("api") ? createMqttProbe(config.mqttUrl) : undefined;
  // What carries commands and facts between the roles (DOWNLINK_LINK; see src/link/link.ts):
  // picked here and nowhere else.
  const link = config.link === "local"
    ? createInProcessLink({ publisher, names, nc })
    : createJetStreamLink({ publisher, names });
  let port: number | undefined;
  try {
    // Shard and bridge first: the API should only accept once the pipeline behind it runs.
    const shard = config.roles.has("shard") ? await startShardRole(context, { link }) : undefined;
    if (shard) roles.push(shard);
    const bridge = config.roles.has("bridge")
      ? await startBridgeRole(context, { link })
      : undefined;
    if (bridge) roles.push(bridge);
    link.attach({ shard: shard?.end, bridge: bridge?.end });
    if (config.roles.has("api")) {
      const api = await startApiRole(context, {
        metrics: roleCounters({ shard: shard?.metrics, bridge: bridge?.metrics }),
        link,
        pressure: shard?.pressure,
        readiness: async () => ({
          // The shard keeps up (pipeline_pressure.ts); new commands are refused while not.
          ...(shard ? { pipeline: shard.pressure.overloaded() ?? true } : {}),
          nats: !nc.isClosed() && await nc.flush().then(() => true, () => false),
          mqtt: mqttProbe?.connected() ?? false,
          // The bridge of this process hears device replies (see reply_path_probe.ts).
          ...(bridge ? { mqtt_replies: bridge.hearsReplies() } : {}),
        }),
      });
      port = api.port;
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
    roles: [...config.roles].join(","),
    port,
    namespace: config.namespace,
    partitions: config.partitions,
    link: config.link,
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
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

function isEntryPoint(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  return !!script && resolve(script) === fileURLToPath(import.meta.url);
}

const START_HELP = `usage: npm start [-- --demo]

Starts Downlink, every role in one process, configured by the environment (see the README).
In development (DOWNLINK_ENV unset), for each of PostgreSQL, NATS and the MQTT broker whose
variable (DATABASE_URL, NATS_URL, MQTT_URL) is not set and whose default port does not answer,
an embedded one is started on that port, its data in DOWNLINK_DATA_DIR (default .downlink/),
and stopped with Downlink; the first start makes a development API client, written to
client.json in that folder, where the CLI looks.

options:
  --demo      also connect a simulated dock (drone-001) and send it the seed's
              fileupload_start, printing each lifecycle step
  -h, --help  this text`;

/** What a person is told on the terminal; the logs stay JSON lines. */
const say = (line: string) => console.log(`downlink: ${line}`);

/** Errors whose message is the whole story for the operator: one line, exit code 2. */
function isOperatorError(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof DependencyUnreachableError ||
    err instanceof MissingBinaryError || err instanceof ServerStartError ||
    err instanceof ServiceUserError;
}

async function main(argv: string[]): Promise<void> {
  let demo = false;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { demo: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) {
      console.log(START_HELP);
      return;
    }
    demo = values.demo === true;
  } catch (err) {
    console.error(`downlink: ${(err as Error).message}\n${START_HELP}`);
    process.exit(2);
  }

  let services: LocalServices | undefined;
  let downlink: Downlink | undefined;
  let dock: DockSimulator | undefined;
  let stopping: Promise<void> | undefined;
  // Downlink drains first, then the servers it was using go; also when a signal comes during
  // start-up, when the servers started so far go.
  const stopAll = () =>
    stopping ??= (async () => {
      await dock?.stop().catch(() => {});
      await downlink?.stop();
      await services?.stop();
    })();
  const shutdown = () => {
    stopAll().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  // A closed terminal: its default would end Downlink without stopping the servers, which run
  // in process groups of their own.
  process.once("SIGHUP", shutdown);

  try {
    let config = loadConfig();
    if (config.env === "development") {
      services = await ensureLocalServices({
        env: process.env,
        defaults: DEFAULT_SERVICE_URLS,
        dataDir: resolve(config.dataDir),
        say,
      });
      config = loadConfig({ ...process.env, ...services.urls });
    } else if (demo) {
      throw new ConfigError("--demo runs in development only, got DOWNLINK_ENV=production");
    }
    // A process-wide setting, so here and not in startDownlink, which tests run in their own.
    limitHeapGrowth(config.heapGrowthPercent);
    if (demo && !config.roles.has("api")) {
      throw new ConfigError(`--demo needs the api role, got DOWNLINK_ROLES=${[...config.roles]}`);
    }
    downlink = await startDownlink(config);
    if (downlink.port === undefined) return;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${downlink.port}`;
    const clientFile = join(config.dataDir, "client.json");
    if (config.env === "development") {
      await ensureDevClient({
        store: createPostgresClientStore(downlink.context.sql, downlink.context.cipher),
        file: clientFile,
        url,
        say,
      });
    }
    say(
      `listening on ${url} (Ctrl-C stops Downlink${services ? " and its embedded servers" : ""})`,
    );
    if (demo) {
      const run = await runDemo({
        mqttUrl: config.mqttUrl,
        url,
        clientFile,
        dataDir: config.dataDir,
        say,
        now: () => Date.now(),
      });
      dock = run.dock;
      say(
        run.exitCode === 0
          ? `demo: done; the simulated dock ${SEED_COMMAND.device_id} goes on answering (try the README's walkthrough)`
          : `demo: the command did not succeed (command send exited ${run.exitCode})`,
      );
    }
  } catch (err) {
    // A configuration mistake, a service that does not answer or a server that cannot be
    // started is the operator's to fix: one line, no stack trace.
    await downlink?.stop().catch(() => {});
    await services?.stop().catch(() => {});
    if (isOperatorError(err)) {
      const prefix = err instanceof ConfigError ? "cannot start: " : "";
      console.error(`downlink: ${prefix}${err.message}`);
      process.exit(2);
    }
    console.error(`downlink: cannot start: ${(err as Error).message ?? err}`);
    throw err;
  }
}

if (isEntryPoint()) {
  await main(process.argv.slice(2));
}
