// Partition leases against the real NATS: a held lease is renewed every third of its TTL on the
// clock the leases are given (a simulated one here: no renewal until it moves), and released
// when they stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import { SimulatedClock } from "xstate";
import { startPartitionLeases } from "../../src/shard/partition_leases.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openNats } from "../../src/composition_root.ts";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a lease is renewed when a third of its TTL has passed on its clock, and freed on stop", async () => {
  const nc = await openNats(NATS_URL, "test-partition-leases");
  const bucket = `test_leases_${crypto.randomUUID().slice(0, 8)}`;
  const kv = await new Kvm(nc).create(bucket, { ttl: 30_000, history: 1 });
  try {
    const clock = new SimulatedClock();
    const gained: number[] = [];
    const leases = await startPartitionLeases({
      nc,
      bucket,
      instanceId: "leases-test",
      partitions: [0],
      ttlSeconds: 30,
      log: createLogger("silent"),
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
  } finally {
    await kv.destroy();
    await nc.close();
  }
});
