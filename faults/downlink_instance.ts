// One Downlink process of a scenario, as an operator runs it (`node --import tsx src/main.ts`),
// that a fault can kill and start again with the same instance id, port and environment.
import { type DownlinkProcess, startDownlinkProcess } from "../bench/downlink_process.ts";
import type { StopSignal } from "./owned_server.ts";
import { onCleanup } from "./cleanup.ts";

export interface DownlinkInstance {
  label: string;
  current(): DownlinkProcess;
  /** Sends `signal` and waits for the exit; SIGTERM escalates to SIGKILL after 10 s. */
  stop(signal: StopSignal): Promise<void>;
  start(): Promise<void>;
}

export async function startDownlinkInstance(
  env: Record<string, string>,
  label: string,
  options: { warningsFile?: string } = {},
): Promise<DownlinkInstance> {
  let proc: DownlinkProcess | undefined;
  const stop = async (signal: StopSignal) => {
    const p = proc;
    if (!p) return;
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await p.kill(signal);
    clearTimeout(timer);
  };
  const start = async () => {
    proc = await startDownlinkProcess(env, { label, startTimeoutMs: 60_000, ...options });
  };
  onCleanup(`downlink ${label}`, () => stop("SIGKILL"));
  await start();
  return {
    label,
    current: () => proc!,
    stop,
    start,
  };
}
