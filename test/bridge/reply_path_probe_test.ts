// The reply-path probe on a simulated clock: silence past the limit is deafness (said once,
// counted, repaired: first by subscribing again, then by reconnecting); a probe heard cures it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { startReplyPathProbe } from "../../src/bridge/reply_path_probe.ts";
import { createLogger } from "../../src/runtime/log.ts";

function setup() {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const sent: number[] = [];
  const repairs: number[] = [];
  const counts: Record<string, number> = {};
  const probe = startReplyPathProbe({
    clock,
    log: createLogger("silent"),
    intervalMs: 1_000,
    deafAfterMs: 5_000,
    send: async (at) => {
      sent.push(at);
    },
    repair: async (attempt) => {
      repairs.push(attempt);
    },
    count: (name) => counts[name] = (counts[name] ?? 0) + 1,
  });
  // Lets the repair's promise settle between simulated ticks.
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 1_000) {
      clock.increment(1_000);
      await Promise.resolve();
      await Promise.resolve();
    }
  };
  return { clock, probe, sent, repairs, counts, advance };
}

test("a path whose probes come back stays healthy", async () => {
  const { probe, sent, repairs, advance } = setup();
  for (let i = 0; i < 20; i++) {
    await advance(1_000);
    probe.heard(sent.at(-1)!);
  }
  assert.equal(sent.length, 20);
  assert.equal(probe.healthy(), true);
  assert.deepEqual(repairs, []);
  probe.stop();
});

test("silence past the limit is deafness: counted once, repaired, cured by a probe heard", async () => {
  const { probe, sent, repairs, counts, advance } = setup();
  await advance(5_000);
  assert.equal(probe.healthy(), true, "5 s of silence is within the limit");
  await advance(1_000);
  assert.equal(probe.healthy(), false);
  assert.deepEqual(repairs, [1], "first repair: subscribe again");
  await advance(3_000);
  assert.deepEqual(repairs, [1, 2], "still deaf two probes later: reconnect");
  assert.equal(counts.reply_path_deaf, 1);
  assert.equal(counts.reply_path_repairs, 2);

  probe.heard(sent.at(-1)!);
  assert.equal(probe.healthy(), true);
  await advance(3_000);
  probe.heard(sent.at(-1)!);
  assert.deepEqual(repairs, [1, 2]);
  probe.stop();
});

test("a probe sent before the silence began does not cure it", async () => {
  const { probe, sent, advance } = setup();
  await advance(1_000);
  const old = sent[0];
  await advance(6_000);
  assert.equal(probe.healthy(), false);
  probe.heard(old);
  assert.equal(probe.healthy(), false);
  probe.stop();
});
