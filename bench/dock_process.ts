// The benchmark's simulated docks, in a process of their own. In the load generator's process
// their MQTT work delayed its event loop, and so the moment a request left and the moment its
// answer was read: latency of the load generator, counted as Downlink's.
//
// `node --import tsx bench/dock_process.ts MQTT_URL SN_PREFIX COUNT [silent]`; prints one JSON
// line `{"ready": true}` once every dock is subscribed; stops on SIGTERM. The docks announce
// themselves as real ones do (update_topo, osd): Downlink sends only to docks that are online.
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createDockSimulator } from "../src/cli/dock_simulate.ts";

export interface DockProcess {
  pid: number;
  sns: readonly string[];
  /** Resolves once Downlink answered every dock's update_topo (it knows them online). */
  online(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `count` docks named `${prefix}${i}` in a child process, answering every command
 * with result 0, or (`silent`) online and never answering. */
export async function startDockProcess(
  mqttUrl: string,
  prefix: string,
  count: number,
  options: { silent?: boolean } = {},
): Promise<DockProcess> {
  const child: ChildProcess = spawn(process.execPath, [
    "--import",
    "tsx",
    new URL(import.meta.url).pathname,
    mqttUrl,
    prefix,
    String(count),
    ...(options.silent ? ["silent"] : []),
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let announced: () => void = () => {};
  const online = new Promise<void>((resolve) => announced = resolve);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"ready"')) resolve();
      if (line.includes('"online"')) announced();
    });
    exited.then(() => reject(new Error("the dock process exited before it was ready")));
  });
  return {
    pid: child.pid!,
    sns: docks(prefix, count),
    online: (ms) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`docks ${prefix}* not online in ${ms} ms`)),
          ms,
        );
        online.then(() => {
          clearTimeout(t);
          resolve();
        });
      }),
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
  const [mqttUrl, prefix, count, mode] = process.argv.slice(2);
  const sim = await createDockSimulator({
    mqttUrl,
    sns: docks(prefix, Number(count)),
    result: 0,
    silent: mode === "silent",
    keep: false,
  });
  process.once("SIGTERM", () => sim.stop().then(() => process.exit(0)));
  console.log(JSON.stringify({ ready: true }));
  // Downlink may start after the docks: they announce themselves again until it answers.
  await sim.answered(3_600_000);
  console.log(JSON.stringify({ online: true }));
}
