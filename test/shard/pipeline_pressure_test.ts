// Backpressure on a simulated clock: a reply waiting past the limit, slow commits or too many
// commands in flight name a reason; it clears as soon as the backlog is worked off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createPipelinePressure } from "../../src/shard/pipeline_pressure.ts";

const limits = { maxReplyLagSeconds: 5, maxCommitSeconds: 2, maxInFlight: 100 };

test("a reply waiting past the limit refuses new commands until it is committed", () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const p = createPipelinePressure(limits, { clock, inFlight: () => 0 });
  const fast = p.replyTaken(clock.now());
  clock.increment(40);
  fast.committed();
  const stuck = p.replyTaken(clock.now());
  clock.increment(5_000);
  assert.equal(p.overloaded(), undefined, "5 s is within the limit");
  clock.increment(1_000);
  assert.match(p.overloaded()!, /a device reply has waited 6\.0 s to be recorded \(limit 5 s\)/);
  assert.equal(p.gauges().downlink_reply_backlog, 1);
  stuck.committed();
  clock.increment(250);
  assert.equal(p.overloaded(), undefined, "the backlog is gone: accepted again at once");
  assert.equal(p.gauges().downlink_reply_lag_max_seconds, 6);
});

test("slow commits count once there are enough of them; too many in flight is a reason too", () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  let inFlight = 0;
  const p = createPipelinePressure(limits, {
    clock,
    inFlight: () => inFlight,
    liveActors: () => ({ commands: 7, devices: 3 }),
  });
  p.commit(9_000);
  assert.equal(p.overloaded(), undefined, "one slow commit is not a trend");
  clock.increment(300);
  for (let i = 0; i < 20; i++) p.commit(2_500);
  assert.match(p.overloaded()!, /lifecycle commits take \d\.\d s/);
  clock.increment(10_001);
  inFlight = 101;
  assert.match(p.overloaded()!, /101 commands in flight \(limit 100\)/);
  assert.equal(p.gauges().downlink_in_flight_commands, 101);
  assert.equal(p.gauges().downlink_command_actors_live, 7);
  assert.equal(p.gauges().downlink_device_actors_live, 3);
});

test("every reply lag and commit latency lands in its histogram, in seconds", () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const p = createPipelinePressure(limits, { clock, inFlight: () => 0 });
  const reply = p.replyTaken(clock.now());
  clock.increment(300);
  reply.committed();
  reply.committed(); // a second call changes nothing
  p.commit(20);
  const [lag, commit] = p.histograms.map((h) => h.snapshot());
  assert.equal(lag.count, 1);
  assert.equal(lag.sum, 0.3);
  assert.deepEqual(lag.buckets.find(([le]) => le === 0.5), [0.5, 1]);
  assert.deepEqual(lag.buckets.find(([le]) => le === 0.25), [0.25, 0]);
  assert.equal(commit.count, 1);
  assert.deepEqual(commit.buckets.find(([le]) => le === 0.025), [0.025, 1]);
});
