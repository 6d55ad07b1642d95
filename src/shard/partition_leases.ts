// Ownership of partitions through leases in a NATS KV bucket: a key `p{N}` created by one
// process, renewed at its last revision, freed by the bucket's TTL when that process dies.
// Taking a partition over (its restore) may last longer than the TTL, so renewals never wait
// for one: a round only takes and renews keys, and the takeovers run beside it, a few at once.
import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm } from "@nats-io/kv";
import type { Logger } from "../runtime/log.ts";
import { type Clock, systemClock } from "../async/time.ts";
import { createLimiter } from "../async/limiter.ts";

/** Partitions taken over at once: their restores overlap Postgres's and NATS's round trips with
 * this process's work, and four hold at most four partitions' rows in memory together. */
const TAKEOVERS_AT_ONCE = 4;

export interface PartitionLeasesOptions {
  nc: NatsConnection;
  bucket: string;
  instanceId: string;
  /** Partitions this process wants; by default one process takes all it can get. */
  partitions: readonly number[];
  ttlSeconds: number;
  log: Logger;
  /** What renewals are timed on: the host's real clock (the default), since the lease's TTL
   * runs on the NATS server's clock, which a simulated one would let expire under us. */
  clock?: Clock;
  /** Called once a lease is held; the partition's work starts when it resolves. Several
   * partitions' may run at once, each partition's never beside its own onLose. `held` turns false
   * when the lease is lost (or the leases stop) meanwhile: the takeover should then stop before it
   * starts driving the partition (its onLose follows). */
  onGain(partition: number, held: () => boolean): Promise<void>;
  /** Called when a lease is lost or released (after the partition's onGain has settled): stop
   * driving the partition at once. */
  onLose(partition: number): Promise<void>;
}

export interface PartitionLeases {
  owned(): number[];
  /** Resolves after the first acquisition round and the onGain of what it won. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startPartitionLeases(o: PartitionLeasesOptions): Promise<PartitionLeases> {
  const kv: KV = await new Kvm(o.nc).create(o.bucket, { ttl: o.ttlSeconds * 1000, history: 1 });
  const held = new Map<number, number>(); // partition → revision of our lease
  const value = new TextEncoder().encode(o.instanceId);
  let stopped = false;
  const clock = o.clock ?? systemClock;
  let timer: unknown;
  /** The round running now, if any (stop waits for it: it may be taking a key). */
  let current: Promise<unknown> = Promise.resolve();

  const takeovers = createLimiter(TAKEOVERS_AT_ONCE);
  /** Each partition's last onGain/onLose, so that its next one starts after it. */
  const work = new Map<number, Promise<void>>();
  const after = (p: number, step: () => Promise<void>): Promise<void> => {
    const next = (work.get(p) ?? Promise.resolve()).then(step);
    work.set(p, next);
    return next;
  };

  const lose = (p: number, why: string): Promise<void> => {
    held.delete(p);
    o.log.warn("partition lease lost", { partition: p, why });
    return after(
      p,
      () => o.onLose(p).catch((err) => o.log.error("onLose failed", { err, partition: p })),
    );
  };

  const takeOver = (p: number): Promise<void> =>
    after(p, async () => {
      await takeovers.acquire();
      try {
        // Lost while waiting for a slot: nothing to take over.
        const stillHeld = () => held.has(p) && !stopped;
        if (!stillHeld()) return;
        await o.onGain(p, stillHeld);
      } catch (err) {
        o.log.error("could not take over partition, releasing it", { err, partition: p });
        const revision = held.get(p);
        held.delete(p);
        if (revision !== undefined) {
          await kv.delete(`p${p}`, { previousSeq: revision }).catch(() => {});
        }
        await o.onLose(p).catch(() => {});
      } finally {
        takeovers.release();
      }
    });

  /** Takes the free leases and renews the held ones; returns the takeovers it started. */
  async function round(): Promise<Promise<void>[]> {
    const started: Promise<void>[] = [];
    for (const p of o.partitions) {
      if (stopped) break;
      const key = `p${p}`;
      const revision = held.get(p);
      if (revision !== undefined) {
        try {
          // A takeover that failed meanwhile released the key: not ours to renew.
          const renewed = await kv.update(key, value, revision);
          if (held.has(p)) held.set(p, renewed);
        } catch (err) {
          // Not awaited: its onLose waits for a takeover of the partition still running.
          if (held.get(p) === revision) void lose(p, String((err as Error).message));
        }
        continue;
      }
      let rev: number;
      try {
        rev = await kv.create(key, value);
      } catch {
        // Held. If by this very instance id, it is ours from before a crash: take it back now
        // instead of waiting for the TTL (instance ids are stable only when configured).
        const entry = await kv.get(key).catch(() => null);
        if (!entry || entry.operation !== "PUT" || entry.string() !== o.instanceId) continue;
        try {
          rev = await kv.update(key, value, entry.revision);
        } catch {
          continue;
        }
      }
      held.set(p, rev);
      o.log.info("partition lease gained", { partition: p });
      started.push(takeOver(p));
    }
    return started;
  }

  // Renew well inside the TTL: a third of it leaves two chances before the lease expires.
  const period = Math.max(500, (o.ttlSeconds * 1000) / 3);
  const loop = async () => {
    try {
      await (current = round());
    } catch (err) {
      o.log.error("lease round failed", { err });
    }
    if (!stopped) timer = clock.setTimeout(loop, period);
  };
  // Renewals start with the first round, before its takeovers end.
  const ready = (current = round()).then(
    (started) => {
      if (!stopped) timer = clock.setTimeout(loop, period);
      return Promise.all(started).then(() => {});
    },
    (err) => {
      o.log.error("lease round failed", { err });
      if (!stopped) timer = clock.setTimeout(loop, period);
    },
  );

  return {
    owned: () => [...held.keys()].sort((a, b) => a - b),
    ready,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      // A round may be taking a key now, a takeover running: both end before the release.
      await current.catch(() => {});
      await ready;
      await Promise.all(work.values());
      for (const p of [...held.keys()]) {
        await after(p, () => o.onLose(p).catch(() => {}));
        const revision = held.get(p);
        held.delete(p);
        // Released at once so another process need not wait for the TTL.
        if (revision !== undefined) {
          await kv.delete(`p${p}`, { previousSeq: revision }).catch(() => {});
        }
      }
    },
  };
}
