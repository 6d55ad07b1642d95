// Backpressure across processes, over the machine's NATS: what a shard says reaches an API
// process; a word goes stale, and a process ignores its own shard's word (it asks it directly).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { broadcastPressure, watchPressure } from "../../src/bus/pressure_broadcast.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { loadConfig } from "../../src/runtime/config.ts";
import { testEnv } from "../support/test_env.ts";
import { eventually } from "../support/api_fixtures.ts";
import { openNats } from "../../src/composition_root.ts";

test("an API refuses while a shard says it is behind, and not once the word is stale", async () => {
  const config = loadConfig(testEnv());
  const subject = topologyNames(config.namespace).pressureSubject;
  const nc = await openNats(config.natsUrl, "pressure-test");
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  let reason: string | undefined = "lifecycle commits take 3.1 s (limit 2 s)";
  const api = watchPressure(nc, subject, { clock });
  const own = watchPressure(nc, subject, { clock, self: "shard-a" });
  await nc.flush();
  const shard = broadcastPressure(nc, subject, {
    instance: "shard-a",
    overloaded: () => reason,
    clock,
  });
  try {
    assert.equal(
      await eventually(() => api.overloaded(), 2_000, "the shard's word"),
      "shard shard-a: lifecycle commits take 3.1 s (limit 2 s)",
    );
    assert.equal(own.overloaded(), undefined, "its own shard's word is not listened to");

    reason = undefined;
    clock.increment(1_000); // the next word: all is well
    await eventually(() => api.overloaded() === undefined || undefined, 2_000, "all is well");

    reason = "a device reply has waited 6.0 s to be recorded (limit 5 s)";
    clock.increment(1_000);
    assert.match(
      await eventually(() => api.overloaded(), 2_000, "the next word"),
      /a device reply has waited/,
    );
    shard.stop(); // the shard is gone: after 3 s its word no longer counts
    clock.increment(3_001);
    assert.equal(api.overloaded(), undefined);
  } finally {
    shard.stop();
    api.close();
    own.close();
    await nc.close();
  }
});
