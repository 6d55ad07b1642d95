// The benchmark's simulated docks, in a process of their own. In the load generator's process
// their MQTT work delayed its event loop, and so the moment a request left and the moment its
// answer was read: latency of the load generator, counted as Downlink's.
//
// `node --import tsx bench/dock_process.ts MQTT_URL SN_PREFIX COUNT`; prints one JSON line
// `{"ready": true}` once every dock is subscribed; stops on SIGTERM.
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createDockSimulator } from "../src/cli/dock_simulate.ts";

export interface DockProcess {
  pid: number;
  sns: readonly string[];
  stop(): Promise<void>;
}

/** Starts `count` answering docks named `${prefix}${i}` in a child process. */
export async function startDockProcess(
  mqttUrl: string,
  prefix: string,
  count: number,
): Promise<DockProcess> {
  const child: ChildProcess = spawn(process.execPath, [
    "--import",
    "tsx",
    new URL(import.meta.url).pathname,
    mqttUrl,
    prefix,
    String(count),
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"ready"')) resolve();
    });
    exited.then(() => reject(new Error("the dock process exited before it was ready")));
  });
  return {
    pid: child.pid!,
    sns: docks(prefix, count),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function docks(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mqttUrl, prefix, count] = process.argv.slice(2);
  const sim = await createDockSimulator({
    mqttUrl,
    sns: docks(prefix, Number(count)),
    result: 0,
    keep: false,
  });
  process.once("SIGTERM", () => sim.stop().then(() => process.exit(0)));
  console.log(JSON.stringify({ ready: true }));
}
