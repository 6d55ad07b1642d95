// publishInOrder on a fake publisher and a simulated clock: a failed publish is tried again
// before the same command's next event is sent, other commands' events go on meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { type EventPublisher, publishInOrder } from "../../src/bus/event_publisher.ts";
import type { StoredEvent } from "../../src/command/lifecycle_event.ts";
import { createLogger } from "../../src/runtime/log.ts";

const ev = (event_id: string, command_id?: string): StoredEvent => ({
  event_id,
  ...(command_id ? { command_id } : {}),
  subject: "tenant.t.command.x",
  body: "{}",
});

/** A publisher that fails the first `failures[id]` attempts of an event, and logs the rest. */
function fakePublisher(failures: Record<string, number>) {
  const stored: string[] = [];
  const publisher: EventPublisher = {
    publish(e) {
      if ((failures[e.event_id] ?? 0) > 0) {
        failures[e.event_id]--;
        return Promise.reject(new Error("no JetStream acknowledgement"));
      }
      stored.push(e.event_id);
      return Promise.resolve();
    },
  };
  return { publisher, stored };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test("a command's second event waits until its first is stored; other commands go on", async () => {
  const clock = new SimulatedClock();
  const { publisher, stored } = fakePublisher({ a1: 2 });
  const done = publishInOrder(
    publisher,
    [ev("a1", "A"), ev("b1", "B"), ev("a2", "A"), ev("b2", "B")],
    { clock, log: createLogger("silent"), stopped: () => false },
  );
  await settle();
  assert.deepEqual(stored, ["b1"], "a1 failed: a2 must not overtake it");
  clock.increment(100);
  await settle();
  assert.deepEqual(stored, ["b1"]);
  clock.increment(200);
  await settle();
  assert.equal(await done, true);
  assert.deepEqual(stored, ["b1", "a1", "a2", "b2"]);
});

test("events of no command are published in one wave", async () => {
  const clock = new SimulatedClock();
  const { publisher, stored } = fakePublisher({});
  const done = await publishInOrder(publisher, [ev("p1"), ev("p2"), ev("c1", "C")], {
    clock,
    log: createLogger("silent"),
    stopped: () => false,
  });
  assert.equal(done, true);
  assert.deepEqual(stored, ["p1", "p2", "c1"]);
});

test("stopping gives up: what was not stored is reported as not stored", async () => {
  const clock = new SimulatedClock();
  const { publisher, stored } = fakePublisher({ a1: 100 });
  let stopped = false;
  const done = publishInOrder(publisher, [ev("a1", "A"), ev("a2", "A")], {
    clock,
    log: createLogger("silent"),
    stopped: () => stopped,
  });
  await settle();
  stopped = true;
  clock.increment(100);
  assert.equal(await done, false);
  assert.deepEqual(stored, []);
});
