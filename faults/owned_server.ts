// The shape every server the suite starts for itself shares (PostgreSQL, NATS, Mosquitto): it
// can be stopped with a signal and started again on the same port with the same data, which is
// what a fault scenario does to it, and it is removed with its data at the end.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export type StopSignal = "SIGTERM" | "SIGKILL";

export interface OwnedServer {
  /** Its URL on 127.0.0.1, stable across restarts. */
  url: string;
  /** SIGTERM is the server's orderly shutdown, SIGKILL a crash. Resolves once it is gone. */
  stop(signal: StopSignal): Promise<void>;
  /** Starts it again on the same port and data; resolves once it listens. */
  start(): Promise<void>;
  /** Stops it (SIGKILL) for good; its data folder goes with the run's temp folder. */
  destroy(): Promise<void>;
}

/** A running server binary whose output goes to `logFile`. */
export interface ServerChild {
  pid: number;
  exited: Promise<void>;
  signal(signal: StopSignal): Promise<void>;
}

export function spawnServer(bin: string, args: string[], logFile: string): ServerChild {
  const fd = openSync(logFile, "a");
  const child: ChildProcess = spawn(bin, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", () => {});
  return {
    pid: child.pid ?? -1,
    exited,
    async signal(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      // A server ignoring SIGTERM for 10 s is crashed on purpose rather than waited for.
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
