// The process entry (`npm start`): reads the configuration, starts embedded services in
// development, and runs Downlink through the composition root (composition_root.ts).
import process from "node:process";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, DEFAULT_SERVICE_URLS, loadConfig } from "./runtime/config.ts";
import { limitHeapGrowth } from "./runtime/heap_growth.ts";
import { type Downlink, startDownlink } from "./composition_root.ts";
import { DependencyUnreachableError } from "./runtime/dependency_unreachable.ts";
import { createPostgresClientStore } from "./store/client_store.ts";
import { ensureLocalServices, type LocalServices } from "./embedded/local_services.ts";
import { MissingBinaryError } from "./embedded/server_binary.ts";
import { ServerStartError } from "./embedded/server_process.ts";
import { ServiceUserError } from "./embedded/service_user.ts";
import { ensureDevClient } from "./dev/dev_client.ts";
import { runDemo } from "./dev/demo.ts";
import { SEED_COMMAND } from "./vendors/dji/seed_command.ts";
import type { DockSimulator } from "./cli/dock_simulate.ts";
import { systemClock } from "./async/time.ts";

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
    limitHeapGrowth({
      percent: config.heapGrowthPercent,
      heldBelowBytes: config.heapGrowthHeldBelowBytes,
    });
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
        now: systemClock.now,
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
