// `npm start -- --demo`: a simulated DJI dock beside Downlink, and the seed's fileupload_start
// sent to it through the CLI's `command send --wait`, which prints each lifecycle step.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDockSimulator, type DockSimulator } from "../cli/dock_simulate.ts";
import { runCli } from "../cli/main.ts";

/** The seed page's request body (fileupload_start to drone-001), as POST /commands takes it. */
export const SEED_COMMAND = {
  vendor: "dji",
  device_id: "drone-001",
  command_type: "fileupload_start",
  payload: {
    bucket: "string",
    region: "string",
    credentials: {
      access_key_id: "id-001",
      access_key_secret: "string",
      expire: 0,
      security_token: "string",
    },
    endpoint: "string",
    provider: "string",
    params: { files: [{ list: {}, module: "string", object_key: "string" }] },
  },
  idempotency_key: "req-fileupload_start-001",
  timeout_seconds: 30,
} as const;

export interface DemoOptions {
  mqttUrl: string;
  /** Downlink's base URL. */
  url: string;
  clientFile: string;
  /** The seed body is written here as seed.json, for the README's walkthrough to reuse. */
  dataDir: string;
  say: (line: string) => void;
  /** Makes each run's idempotency key new, so a second demo sends a command of its own. */
  now: () => number;
}

export interface Demo {
  /** The CLI's exit code: 0 when the command SUCCEEDED. */
  exitCode: number;
  dock: DockSimulator;
}

/** Starts the simulated dock and sends the seed's command; resolves once it is terminal. */
export async function runDemo(o: DemoOptions): Promise<Demo> {
  const dock = await createDockSimulator({ mqttUrl: o.mqttUrl, sn: SEED_COMMAND.device_id });
  o.say(`demo: a simulated dock ${SEED_COMMAND.device_id} is connected to ${o.mqttUrl}`);
  const seedFile = join(o.dataDir, "seed.json");
  writeFileSync(seedFile, JSON.stringify(SEED_COMMAND) + "\n");
  const key = `demo-fileupload_start-${o.now()}`;
  o.say(`demo: sending the seed's fileupload_start (${seedFile}, idempotency key ${key})`);
  try {
    const exitCode = await runCli([
      "command",
      "send",
      "--file",
      seedFile,
      "--key",
      key,
      "--wait",
      "--url",
      o.url,
      "--client-file",
      o.clientFile,
    ], { stdout: (t) => o.say(t), stderr: (t) => o.say(t) });
    return { exitCode, dock };
  } catch (err) {
    await dock.stop();
    throw err;
  }
}
