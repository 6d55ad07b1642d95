// A server binary Downlink runs for itself (PostgreSQL, NATS, Mosquitto): started in its own
// process group, ready once its port answers, stopped with its orderly signal, and never left
// running when Downlink goes, however it goes short of SIGKILL (a pid file lets the next start
// stop the one a SIGKILL left behind).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { portAnswers } from "./port_answers.ts";
import { type Clock, systemClock } from "../async/time.ts";

export interface ServerProcessOptions {
  /** What a person calls it: "PostgreSQL". */
  service: string;
  bin: string;
  args: string[];
  host: string;
  port: number;
  /** The server's stdout and stderr go here (appended). */
  logFile: string;
  /** Holds the pid while it runs. */
  pidFile: string;
  /** Its orderly shutdown: SIGINT for PostgreSQL (fast: SIGTERM would wait for clients). */
  stopSignal?: NodeJS.Signals;
  /** Run as this user (as root: servers that refuse root, and data that must not be root's). */
  user?: { uid: number; gid: number };
  readyTimeoutMs?: number;
  /** What start-up's and stop's waits are measured on (default: the system clock). */
  clock?: Clock;
}

export interface ServerProcess {
  pid: number;
  /** Sends the stop signal and resolves once the process is gone (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  override name = "ServerStartError";
  readonly code = "EMBEDDED_SERVER_FAILED";
}

const running = new Set<{ pid: number; signal: NodeJS.Signals }>();
let exitHookInstalled = false;

/** On any exit of this process (an uncaught error, process.exit) the servers still running get
 * their stop signal: they finish shutting down on their own. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const s of running) {
      try {
        process.kill(s.pid, s.signal);
      } catch {
        // Already gone.
      }
    }
  });
}

/** The last lines of a server's log: what it said before failing. */
export function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join(" | ");
  } catch {
    return "(no log)";
  }
}

const pause = (clock: Clock, ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the server a killed Downlink left running from `pidFile`, if that pid still runs with
 * `marker` (its data folder) in its command line: a recycled pid belongs to someone else.
 * Resolves with its pid when there was one. */
export async function stopLeftover(
  pidFile: string,
  marker: string,
  signal: NodeJS.Signals,
  clock: Clock = systemClock,
) {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined; // no /proc (macOS): left alone; its port answers and is used
  }
  if (!cmdline.includes(marker)) return undefined;
  process.kill(pid, signal);
  const until = clock.now() + 15_000;
  while (alive(pid) && clock.now() < until) await pause(clock, 100);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  return pid;
}

/** Starts the server and resolves once `host:port` answers. */
export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const signal = o.stopSignal ?? "SIGTERM";
  const clock = o.clock ?? systemClock;
  const fd = openSync(o.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(o.bin, o.args, {
      stdio: ["ignore", fd, fd],
      // Its own process group: a Ctrl-C in the terminal reaches Downlink only, which stops the
      // servers after it has drained, not before.
      detached: true,
      ...(o.user ?? {}),
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  let gone = false;
  exited.then(() => (gone = true));
  const entry = { pid: child.pid ?? -1, signal };

  const stop = async () => {
    running.delete(entry);
    rmSync(o.pidFile, { force: true });
    if (gone || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = clock.setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clock.clearTimeout(timer);
  };

  if (child.pid !== undefined) {
    running.add(entry);
    installExitHook();
    writeFileSync(o.pidFile, `${child.pid}\n`);
  }
  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  const until = clock.now() + timeoutMs;
  for (;;) {
    if (spawnError || gone) {
      await stop();
      const why = spawnError?.message ?? `exited with ${child.exitCode ?? child.signalCode}`;
      throw new ServerStartError(
        `the embedded ${o.service} (${o.bin}) did not start: ${why}; its log ${o.logFile} ends: ${
          logTail(o.logFile)
        }`,
      );
    }
    if (await portAnswers(o.host, o.port, 500, clock)) break;
    if (clock.now() > until) {
      await stop();
      throw new ServerStartError(
        `the embedded ${o.service} (${o.bin}) did not answer on ${o.host}:${o.port} within ` +
          `${timeoutMs} ms; its log ${o.logFile} ends: ${logTail(o.logFile)}`,
      );
    }
    await pause(clock, 100);
  }
  // Ours until stopped: not kept alive by the event loop, so Downlink can exit normally.
  child.unref();
  return { pid: entry.pid, stop };
}
