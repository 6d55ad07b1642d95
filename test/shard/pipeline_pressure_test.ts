// Backpressure on a simulated clock: reply lag, commit latency or in-flight commands past their
// limit name a reason; it clears once the window holds no slow sample any more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createPipelinePressure } from "../../src/shard/pipeline_pressure.ts";

const limits = { maxReplyLagSeconds: 5, maxCommitSeconds: 2, maxInFlight: 100 };

test("replies recorded late past the limit refuse new commands until the window forgets them", () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const p = createPipelinePressure(limits, { clock, inFlight: () => 0 });
  for (let i = 0; i < 100; i++) p.replyLag(40);
  assert.equal(p.overloaded(), undefined);
  clock.increment(300);
  for (let i = 0; i < 10; i++) p.replyLag(8_000);
  assert.match(p.overloaded()!, /device replies take 8\.0 s to be recorded \(limit 5 s\)/);
  assert.equal(p.gauges().downlink_reply_lag_max_seconds, 8);
  clock.increment(10_001);
  assert.equal(p.overloaded(), undefined);
});

test("slow commits and too many commands in flight are reasons too", () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  let inFlight = 0;
  const p = createPipelinePressure(limits, { clock, inFlight: () => inFlight });
  p.commit(2_500);
  assert.match(p.overloaded()!, /lifecycle commits take 2\.5 s/);
  clock.increment(10_001);
  inFlight = 101;
  assert.match(p.overloaded()!, /101 commands in flight \(limit 100\)/);
  assert.equal(p.gauges().downlink_in_flight_commands, 101);
});
