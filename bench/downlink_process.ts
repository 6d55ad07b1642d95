// Runs Downlink as a separate OS process for the benchmark (as an operator would run it), reads
// its JSON log lines, its resident memory, and kills it with SIGKILL to measure restarts.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export interface DownlinkProcess {
  pid: number;
  /** Every OS process of this Downlink (one per role group). */
  pids: number[];
  port: number;
  rssBytes(): number;
  /** CPU time (user + system) the process has used, in seconds. */
  cpuSeconds(): number;
  /** Write system calls the process has made (socket writes dominate them). */
  writeCalls(): number;
  /** Resolves with the first log line for which `match` is true. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startDownlinkProcess(
  env: Record<string, string>,
  options: {
    startTimeoutMs?: number;
    nodeArgs?: string[];
    label?: string;
    /** Every log line at warn or above is appended here (only errors reach the console). */
    warningsFile?: string;
  } = {},
): Promise<DownlinkProcess> {
  const prefix = options.label ? `[downlink ${options.label}]` : "[downlink]";
  const child: ChildProcess = spawn(process.execPath, [
    ...(options.nodeArgs ?? []),
    "--import",
    "tsx",
    "src/main.ts",
  ], {
    // Its development client file goes to a temp folder, not over the developer's
    // .downlink/client.json (the benchmark, fault and soak runs are deployments of their own).
    env: { ...process.env, DOWNLINK_DATA_DIR: join(tmpdir(), "downlink-bench-data"), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    if (line.level === "error") console.error(`${prefix} ${text}`);
    if (options.warningsFile && (line.level === "warn" || line.level === "error")) {
      appendFileSync(options.warningsFile, text + "\n");
    }
    for (const l of listeners) l(line);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`downlink did not log the awaited line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(line);
      };
      listeners.add(listener);
      exited.then(() => {
        clearTimeout(timer);
        if (listeners.delete(listener)) reject(new Error("downlink exited"));
      });
    });
  const started = await waitForLog(
    (l) => l.msg === "downlink started",
    options.startTimeoutMs ?? 60_000,
  ).catch((err) => {
    // A process that never started is not left behind.
    child.kill("SIGKILL");
    throw err;
  });
  return {
    pid: child.pid!,
    pids: [child.pid!],
    port: Number(started.port),
    rssBytes: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
      return kb * 1024;
    },
    cpuSeconds: () => {
      // Fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    writeCalls: () => {
      const io = readFileSync(`/proc/${child.pid}/io`, "utf8");
      return Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? NaN);
    },
    waitForLog,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** Downlink as one process per role group (e.g. [["api"], ["shard"], ["bridge"]]), seen as one:
 * the API's port, memory and CPU summed, killed together. */
export async function startDownlinkGroup(
  env: Record<string, string>,
  groups: readonly (readonly string[])[],
  options: { startTimeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<DownlinkProcess> {
  const parts = await Promise.all(groups.map((roles, i) =>
    startDownlinkProcess({
      ...env,
      DOWNLINK_ROLES: roles.join(","),
      DOWNLINK_INSTANCE_ID: `${env.DOWNLINK_INSTANCE_ID ?? "bench"}-${i}`,
    }, options)
  ));
  const api = parts[groups.findIndex((g) => g.includes("api"))] ?? parts[0];
  return {
    pid: api.pid,
    pids: parts.map((p) => p.pid),
    port: api.port,
    rssBytes: () => parts.reduce((sum, p) => sum + p.rssBytes(), 0),
    cpuSeconds: () => parts.reduce((sum, p) => sum + p.cpuSeconds(), 0),
    writeCalls: () => parts.reduce((sum, p) => sum + p.writeCalls(), 0),
    waitForLog: (match, timeoutMs) => Promise.any(parts.map((p) => p.waitForLog(match, timeoutMs))),
    kill: async (signal) => {
      await Promise.all(parts.map((p) => p.kill(signal)));
    },
  };
}
