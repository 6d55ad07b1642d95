// `npm test`'s wrapper: runs a command with PostgreSQL, NATS and the MQTT broker at hand: the
// machine's when they answer on their default ports (or the variables name them), else embedded
// ones, started once for the whole run and stopped after it, their URLs exported as
// DATABASE_URL, NATS_URL and MQTT_URL to the Node and Deno runs alike.
//   tsx tools/with_local_services.ts <command> [args...]
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import process from "node:process";
import { DEFAULT_SERVICE_URLS } from "../src/runtime/config.ts";
import { ensureLocalServices } from "../src/embedded/local_services.ts";
import { MissingBinaryError } from "../src/embedded/server_binary.ts";
import { ServerStartError } from "../src/embedded/server_process.ts";
import { ServiceUserError } from "../src/embedded/service_user.ts";

/** Apart from npm start's data: the tests leave a schema per test instance behind. */
const DATA_DIR = ".downlink/test-services";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: tsx tools/with_local_services.ts <command> [args...]");
  process.exit(2);
}

let services;
try {
  services = await ensureLocalServices({
    env: process.env,
    defaults: DEFAULT_SERVICE_URLS,
    dataDir: resolve(process.env.DOWNLINK_TEST_DATA_DIR ?? DATA_DIR),
    say: (line) => console.log(`test services: ${line}`),
    // Throwaway data: a crash the tests cause kills processes, not the machine.
    postgresSettings: { fsync: "off" },
  });
} catch (err) {
  if (
    err instanceof MissingBinaryError || err instanceof ServerStartError ||
    err instanceof ServiceUserError
  ) {
    console.error(`test services: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const child = spawn(command, args, {
  stdio: "inherit",
  env: { ...process.env, ...services.urls },
});
// A Ctrl-C reaches the whole process group; a SIGTERM to this wrapper is passed on.
const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
process.on("SIGINT", forward("SIGINT"));
process.on("SIGTERM", forward("SIGTERM"));
const code = await new Promise<number>((done) => {
  child.once("error", (err) => {
    console.error(`test services: cannot run ${command}: ${err.message}`);
    done(127);
  });
  child.once("exit", (c, signal) => done(c ?? (signal ? 128 : 1)));
});
await services.stop();
process.exit(code);
