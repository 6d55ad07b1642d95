// CPU used by every process on the machine that takes part in a run, read from /proc: where the
// two cores go per command (Downlink, the load generator, NATS, Postgres, Mosquitto).
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/** Process groups by executable name; the load generator is this process. */
const GROUPS: Record<string, string> = {
  "nats-server": "nats-server",
  postgres: "postgres",
  mosquitto: "mosquitto",
};

export type CpuTicks = Map<number, { group: string; ticks: number; writes: number }>;

/** CPU ticks (1/100 s) used so far by every process of a known group, and by `extra` pids. */
export function cpuSnapshot(extra: Record<number, string>): CpuTicks {
  const out: CpuTicks = new Map();
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out; // not Linux: nothing to report
  }
  for (const d of pids) {
    const pid = Number(d);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const group = extra[pid] ?? (pid === process.pid ? "load generator + docks" : GROUPS[name]);
    if (!group) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let writes = 0;
    try {
      writes = Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${d}/io`, "utf8"))?.[1] ?? 0);
    } catch {
      // another user's process: its write calls are not readable
    }
    out.set(pid, { group, ticks: Number(f[11]) + Number(f[12]), writes });
  }
  return out;
}

/** Milliseconds of CPU and write system calls per unit of work, by group, between two
 * snapshots. Write calls do not swell when the machine is busy, so they compare runs better. */
export function cpuPerUnit(before: CpuTicks, after: CpuTicks, units: number) {
  const ms: Record<string, number> = {};
  const writes: Record<string, number> = {};
  for (const [pid, a] of after) {
    const b = before.get(pid);
    ms[a.group] = (ms[a.group] ?? 0) + ((a.ticks - (b?.ticks ?? 0)) * 10) / units;
    writes[a.group] = (writes[a.group] ?? 0) + (a.writes - (b?.writes ?? 0)) / units;
  }
  return { ms, writes };
}
