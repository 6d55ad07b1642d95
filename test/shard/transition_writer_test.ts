// The transition writer on fakes: a transition's messages are acknowledged once it is committed,
// its events are published after the commit (until stored), and their outbox rows are deleted by
// a later statement; a command reads as uncommitted until its transition is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createTransitionWriter } from "../../src/shard/transition_writer.ts";
import type { LifecycleStore, TransitionEvent } from "../../src/store/lifecycle_store.ts";
import type { EventOutbox } from "../../src/store/event_outbox.ts";
import type { EventPublisher } from "../../src/bus/event_publisher.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { restingSnapshot } from "../../machines/command_machine.ts";
import { SAMPLE_COMMAND } from "../support/sample_command.ts";

const T0 = 1_700_000_000_000;

function setup() {
  const clock = new SimulatedClock();
  clock.set(T0);
  const statements: Array<{ rows: string[]; events: TransitionEvent[]; published: string[] }> = [];
  let commit: () => void = () => {};
  const store = {
    writeTransitions(rows, events = [], published = []) {
      statements.push({
        rows: rows.map((r) => r.command_id),
        events: [...events],
        published: [
          ...published,
        ],
      });
      return new Promise((resolve) => {
        commit = () =>
          resolve({
            applied: new Set(rows.map((r) => r.command_id)),
            events: new Set(events.map((e) => e.event_id)),
          });
      });
    },
  } as Pick<LifecycleStore, "writeTransitions"> as LifecycleStore;
  const removed: string[][] = [];
  const outbox: EventOutbox = {
    pending: () => Promise.resolve([]),
    remove: (ids) => {
      removed.push([...ids]);
      return Promise.resolve();
    },
  };
  const stored: string[] = [];
  const events: EventPublisher = {
    publish: (e) => {
      stored.push(JSON.parse(e.body).event_type);
      return Promise.resolve();
    },
  };
  const writer = createTransitionWriter({
    store,
    outbox,
    events,
    partitionOf: () => 3,
    clock,
    log: createLogger("silent"),
  });
  return { clock, writer, statements, commit: () => commit(), removed, stored };
}

const tick = () => new Promise((r) => setImmediate(r));

test("a transition is acked after its commit, its event published after, its row removed later", async () => {
  const { clock, writer, statements, commit, removed, stored } = setup();
  const context = { ...SAMPLE_COMMAND, command_id: "0190b6c4-0000-7000-8000-000000000001" };
  const snapshot = restingSnapshot("DELIVERED", {
    ...context,
    accepted_at: T0 - 1_000,
    deadline_at: T0 + 29_000,
    delivered_at: T0,
  });
  const ref = { id: context.command_id, getPersistedSnapshot: () => snapshot };
  let acked = false;
  writer.record(ref, "delivered", snapshot.context);
  writer.afterCommit(() => acked = true);
  assert.equal(writer.uncommitted(context.command_id), true);
  await tick();
  assert.equal(statements.length, 1);
  assert.deepEqual(statements[0].events.map((e) => [JSON.parse(e.body).event_type, e.partition]), [
    ["command.delivered", 3],
  ]);
  assert.equal(acked, false, "not acked before the commit");
  assert.deepEqual(stored, [], "not published before the commit");

  commit();
  await tick();
  await tick();
  assert.equal(acked, true);
  assert.equal(writer.uncommitted(context.command_id), false);
  assert.deepEqual(stored, ["command.delivered"]);
  assert.deepEqual(removed, []);
  clock.increment(200);
  assert.deepEqual(removed, [[statements[0].events[0].event_id]], "removed when idle");
});

test("events committed elsewhere are published in line, after the batch committed before them", async () => {
  const { clock, writer, commit, removed, stored } = setup();
  const context = { ...SAMPLE_COMMAND, command_id: "0190b6c4-0000-7000-8000-000000000002" };
  const snapshot = restingSnapshot("DELIVERED", {
    ...context,
    accepted_at: T0 - 1_000,
    deadline_at: T0 + 29_000,
    delivered_at: T0,
  });
  writer.record(
    { id: context.command_id, getPersistedSnapshot: () => snapshot },
    "delivered",
    snapshot.context,
  );
  await tick();
  commit();
  await tick();
  // A job's progress whose commit completed just after the delivery's (its publish waits for
  // the delivery's to be stored).
  const progress = {
    event_id: "0190b6c4-0000-7000-8000-0000000000aa",
    partition: 3,
    command_id: context.command_id,
    subject: "tenant.t1.command.progress",
    body: JSON.stringify({ event_type: "command.progress" }),
  };
  writer.publishCommitted([progress]);
  await tick();
  await tick();
  await tick();
  assert.deepEqual(stored, ["command.delivered", "command.progress"]);
  clock.increment(200);
  assert.ok(removed.flat().includes(progress.event_id), "its outbox row goes as the others'");
});

test("a commit refused by Postgres is tried again after 100, 200, 400 ms; stopping gives it up", async () => {
  const clock = new SimulatedClock();
  clock.set(T0);
  const tries: number[] = [];
  const store = {
    writeTransitions() {
      tries.push(clock.now() - T0);
      return Promise.reject(new Error("connection refused"));
    },
  } as Pick<LifecycleStore, "writeTransitions"> as LifecycleStore;
  const metrics: string[] = [];
  const writer = createTransitionWriter({
    store,
    outbox: { pending: () => Promise.resolve([]), remove: () => Promise.resolve() },
    events: { publish: () => Promise.resolve() },
    partitionOf: () => 3,
    clock,
    log: createLogger("silent"),
    onMetric: (name) => metrics.push(name),
  });
  const context = { ...SAMPLE_COMMAND, command_id: "0190b6c4-0000-7000-8000-000000000002" };
  const snapshot = restingSnapshot("DELIVERED", {
    ...context,
    accepted_at: T0 - 1_000,
    deadline_at: T0 + 29_000,
    delivered_at: T0,
  });
  let acked = false;
  writer.record({ id: context.command_id, getPersistedSnapshot: () => snapshot }, "delivered", {
    ...snapshot.context,
  });
  writer.afterCommit(() => acked = true);
  await tick();
  for (const wait of [100, 200, 400]) {
    clock.increment(wait - 1);
    await tick();
    assert.equal(tries.length, [100, 200, 400].indexOf(wait) + 1, `not again before ${wait} ms`);
    clock.increment(1);
    await tick();
  }
  assert.deepEqual(tries, [0, 100, 300, 700]);
  assert.equal(metrics.filter((m) => m === "commit_errors").length, 4);

  const stopped = writer.stop();
  clock.increment(800); // the wait under way ends; the failure after it gives up
  await tick();
  await stopped;
  assert.deepEqual(tries, [0, 100, 300, 700, 1_500]);
  assert.equal(acked, false, "nothing of a batch Postgres never took is acknowledged");
  assert.equal(writer.uncommitted(context.command_id), true);
});
