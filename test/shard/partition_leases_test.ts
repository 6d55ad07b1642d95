// Partition leases against the real NATS: a held lease is renewed every third of its TTL on the
// clock the leases are given (a simulated one here: no renewal until it moves), and released
// when they stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type KV, Kvm } from "@nats-io/kv";
import { SimulatedClock } from "xstate";
import {
  type PartitionLeasesOptions,
  startPartitionLeases,
} from "../../src/shard/partition_leases.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openNats } from "../../src/composition_root.ts";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh lease bucket on the real NATS for one test, destroyed after it; `start` starts leases
 * on it (30 s TTL, one instance) with the given partitions, clock and callbacks. */
async function withBucket(
  body: (b: {
    kv: KV;
    start(
      o: Pick<PartitionLeasesOptions, "partitions" | "clock" | "onGain" | "onLose">,
    ): ReturnType<typeof startPartitionLeases>;
  }) => Promise<void>,
): Promise<void> {
  const nc = await openNats(NATS_URL, "test-partition-leases");
  const bucket = `test_leases_${crypto.randomUUID().slice(0, 8)}`;
  const kv = await new Kvm(nc).create(bucket, { ttl: 30_000, history: 1 });
  try {
    await body({
      kv,
      start: (o) =>
        startPartitionLeases({
          nc,
          bucket,
          instanceId: "leases-test",
          ttlSeconds: 30,
          log: createLogger("silent"),
          ...o,
        }),
    });
  } finally {
    await kv.destroy();
    await nc.close();
  }
}

test("a lease is renewed when a third of its TTL has passed on its clock, and freed on stop", async () => {
  await withBucket(async ({ kv, start }) => {
    const clock = new SimulatedClock();
    const gained: number[] = [];
    const leases = await start({
      partitions: [0],
      clock,
      onGain: (p) => Promise.resolve(void gained.push(p)),
      onLose: () => Promise.resolve(),
    });
    await leases.ready;
    assert.deepEqual(leases.owned(), [0]);
    assert.deepEqual(gained, [0]);
    const first = (await kv.get("p0"))!.revision;

    clock.increment(9_999);
    await sleep(200);
    assert.equal((await kv.get("p0"))!.revision, first, "not renewed before 10 s on its clock");

    clock.increment(1);
    let renewed = first;
    for (let i = 0; i < 50 && renewed === first; i++) {
      await sleep(20);
      renewed = (await kv.get("p0"))!.revision;
    }
    assert.ok(renewed > first, "renewed at 10 s on its clock");

    await leases.stop();
    assert.deepEqual(leases.owned(), []);
    assert.equal((await kv.get("p0"))?.operation, "DEL", "released for the next owner");
  });
});

test("leases are renewed while a takeover runs, and other partitions are taken over beside it", async () => {
  await withBucket(async ({ kv, start }) => {
    const clock = new SimulatedClock();
    let finishTakeover!: () => void;
    const slowTakeover = new Promise<void>((r) => finishTakeover = r);
    const gained: number[] = [];
    const lost: number[] = [];
    const leases = await start({
      partitions: [0, 1],
      clock,
      // Partition 0's restore outlasts the lease's renewal period (a restart with many commands
      // in flight); partition 1's is quick.
      onGain: (p) => {
        gained.push(p);
        return p === 0 ? slowTakeover : Promise.resolve();
      },
      onLose: (p) => Promise.resolve(void lost.push(p)),
    });
    for (let i = 0; i < 100 && !gained.includes(1); i++) await sleep(20);
    assert.deepEqual(gained.sort(), [0, 1], "partition 1 taken over while 0's takeover runs");
    const first = (await kv.get("p0"))!.revision;

    clock.increment(10_000);
    let renewed = first;
    for (let i = 0; i < 100 && renewed === first; i++) {
      await sleep(20);
      renewed = (await kv.get("p0"))!.revision;
    }
    assert.ok(renewed > first, "p0 renewed at 10 s on its clock, its takeover still running");

    finishTakeover();
    await leases.ready;
    assert.deepEqual(leases.owned(), [0, 1]);
    assert.deepEqual(lost, []);
    await leases.stop();
    assert.deepEqual(lost.sort(), [0, 1]);
  });
});

test("a lease lost during its takeover tells the takeover, and its onLose follows the takeover", async () => {
  await withBucket(async ({ kv, start }) => {
    const clock = new SimulatedClock();
    let finishTakeover!: () => void;
    const slowTakeover = new Promise<void>((r) => finishTakeover = r);
    let held: (() => boolean) | undefined;
    const lost: number[] = [];
    const leases = await start({
      partitions: [0],
      clock,
      onGain: (_p, stillHeld) => {
        held = stillHeld;
        return slowTakeover;
      },
      onLose: (p) => Promise.resolve(void lost.push(p)),
    });
    for (let i = 0; i < 100 && !held; i++) await sleep(20);
    assert.equal(held?.(), true);
    // Another process wrote the key (ours expired under a long restore): the renewal fails.
    await kv.put("p0", new TextEncoder().encode("someone-else"));
    clock.increment(10_000);
    for (let i = 0; i < 100 && held!(); i++) await sleep(20);
    assert.equal(held!(), false, "the running takeover learns its lease is gone");
    assert.deepEqual(lost, [], "onLose waits for the takeover");
    finishTakeover();
    for (let i = 0; i < 100 && lost.length === 0; i++) await sleep(20);
    assert.deepEqual(lost, [0]);
    await leases.stop();
    assert.equal((await kv.get("p0"))?.string(), "someone-else", "not released: not ours");
  });
});
