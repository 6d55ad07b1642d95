// The faults the suite injects, one per scenario, in the middle of a steady load. Each gets the
// scenario's own servers and Downlink processes and says when the fault began.
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import type { OwnedServer } from "./owned_server.ts";
import type { DownlinkInstance } from "./downlink_instance.ts";

export interface Stage {
  postgres: OwnedServer;
  nats: OwnedServer;
  mosquitto: OwnedServer;
  /** "a" (all roles) in a one-process scenario; "api", "s1", "s2" in a split one. */
  downlinks: Map<string, DownlinkInstance>;
  namespace: string;
  leaseTtlSeconds: number;
}

export interface FaultNotes {
  /** Date.now() when the fault began: readiness is measured from here. */
  at: number;
  /** Shard failover: seconds until the survivor had taken every partition of the dead one. */
  takeoverSeconds?: number;
  /** Shard failover: true when that took longer than the lease TTL + 5 s (or never happened). */
  takeoverLate?: boolean;
}

export interface Scenario {
  name: string;
  summary: string;
  /** Two shard+bridge processes behind one api process, instead of one all-role process. */
  split?: boolean;
  inject(stage: Stage): Promise<FaultNotes>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const restart =
  (server: (s: Stage) => OwnedServer, signal: "SIGTERM" | "SIGKILL") =>
  async (stage: Stage): Promise<FaultNotes> => {
    const at = Date.now();
    await server(stage).stop(signal);
    await server(stage).start();
    return { at };
  };

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "baseline",
    summary: "no fault: every count must be 0, or the suite itself is wrong",
    inject: () => Promise.resolve({ at: Date.now() }),
  },
  {
    name: "kill9",
    summary: "kill -9 Downlink, start it again with the same instance id",
    async inject(stage) {
      const a = stage.downlinks.get("a")!;
      const at = Date.now();
      await a.stop("SIGKILL");
      await a.start();
      return { at };
    },
  },
  {
    name: "mosquitto-term",
    summary: "restart Mosquitto with SIGTERM (same port, same persistence)",
    inject: restart((s) => s.mosquitto, "SIGTERM"),
  },
  {
    name: "mosquitto-kill",
    summary: "restart Mosquitto with SIGKILL (same port, same persistence)",
    inject: restart((s) => s.mosquitto, "SIGKILL"),
  },
  {
    name: "nats-term",
    summary: "restart nats-server with SIGTERM (same port, same store)",
    inject: restart((s) => s.nats, "SIGTERM"),
  },
  {
    name: "nats-kill",
    summary: "restart nats-server with SIGKILL (same port, same store)",
    inject: restart((s) => s.nats, "SIGKILL"),
  },
  {
    name: "postgres-stop",
    summary: "stop PostgreSQL (pg_ctl stop -m fast) for 10 s, then start it again",
    async inject(stage) {
      const at = Date.now();
      await stage.postgres.stop("SIGTERM");
      await sleep(10_000);
      await stage.postgres.start();
      return { at };
    },
  },
  {
    name: "shard-failover",
    summary: "two shard+bridge processes and an api process; kill -9 the shard holding most " +
      "partitions; the other must take them within the lease TTL + 5 s",
    split: true,
    async inject(stage) {
      const held = await leaseHolders(stage);
      const count = (id: string) => [...held.values()].filter((h) => h === id).length;
      const [victimLabel, survivorLabel] = count(instanceId(stage, "s1")) >=
          count(instanceId(stage, "s2"))
        ? ["s1", "s2"]
        : ["s2", "s1"];
      const victimId = instanceId(stage, victimLabel);
      const orphans = new Set([...held].filter(([, h]) => h === victimId).map(([p]) => p));
      const survivor = stage.downlinks.get(survivorLabel)!.current();
      const limitMs = (stage.leaseTtlSeconds + 5) * 1000;
      let at = 0;
      // Listening before the kill, so no takeover line can be missed.
      const taken = new Set<number>();
      const takeover = survivor.waitForLog((line) => {
        if (line.msg !== "partition taken over" || at === 0) return false;
        taken.add(Number(line.partition));
        return [...orphans].every((p) => taken.has(p));
      }, limitMs + 20_000).then(() => (Date.now() - at) / 1000, () => undefined);
      at = Date.now();
      await stage.downlinks.get(victimLabel)!.stop("SIGKILL");
      const takeoverSeconds = orphans.size === 0 ? 0 : await takeover;
      return {
        at,
        takeoverSeconds,
        takeoverLate: takeoverSeconds === undefined || takeoverSeconds * 1000 > limitMs,
      };
    },
  },
];

function instanceId(stage: Stage, label: string): string {
  return `${stage.namespace}-${label}`;
}

/** partition → instance id holding its lease, read from the namespace's KV bucket. */
async function leaseHolders(stage: Stage): Promise<Map<number, string>> {
  const nc = await connect({ servers: stage.nats.url });
  try {
    const kv = await new Kvm(nc).open(`${stage.namespace}_leases`);
    const held = new Map<number, string>();
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry && entry.operation === "PUT") held.set(Number(key.slice(1)), entry.string());
    }
    return held;
  } finally {
    await nc.close();
  }
}
