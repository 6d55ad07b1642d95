// Where the CPU went during a soak minute: Downlink's own share (a collector that works harder
// shows here), and how idle the machine was (a minute with none idle is judged on a machine that
// other work was competing for, and says so).
import { readFileSync } from "node:fs";

export interface CpuMark {
  atMs: number;
  downlinkSeconds: number;
  /** Ticks of /proc/stat's first line: idle (with iowait) and all. */
  idleTicks: number;
  totalTicks: number;
}

export interface CpuShare {
  /** Downlink's CPU time over the window as a share of one core, in percent. */
  downlinkPercent: number;
  /** The machine's idle time over the window as a share of all its cores, in percent. */
  machineIdlePercent: number;
}

export function cpuMark(downlinkSeconds: number, atMs = Date.now()): CpuMark {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  return {
    atMs,
    downlinkSeconds,
    idleTicks: fields[3] + fields[4],
    totalTicks: fields.reduce((a, b) => a + b, 0),
  };
}

export function cpuShare(before: CpuMark, after: CpuMark): CpuShare | undefined {
  const wallSeconds = (after.atMs - before.atMs) / 1000;
  const ticks = after.totalTicks - before.totalTicks;
  if (wallSeconds <= 0 || ticks <= 0) return undefined;
  return {
    downlinkPercent: (100 * (after.downlinkSeconds - before.downlinkSeconds)) / wallSeconds,
    machineIdlePercent: (100 * (after.idleTicks - before.idleTicks)) / ticks,
  };
}
