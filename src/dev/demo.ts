// `npm start -- --demo`: a simulated DJI dock beside Downlink, and the seed's fileupload_start
// sent to it through the CLI's `command send --wait`, which prints each lifecycle step.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDockSimulator, type DockSimulator } from "../cli/dock_simulate.ts";
import { runCli } from "../cli/main.ts";
import { SEED_COMMAND } from "../vendors/dji/seed_command.ts";

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
