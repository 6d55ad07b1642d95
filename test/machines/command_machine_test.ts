// The command machine on its own: every lifecycle transition, driven with a SimulatedClock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createActor, SimulatedClock } from "xstate";
import {
  type CommandInput,
  commandMachine,
  type ReplyOutcome,
  statusOf,
  type TransitionKind,
  withDeadlineClock,
} from "../../machines/command_machine.ts";

const T0 = 1_700_000_000_000;

function input(overrides: Partial<CommandInput> = {}): CommandInput {
  return {
    command_id: "0190b6c4-0000-7000-8000-000000000001",
    tenant_id: "t1",
    client_id: "c1",
    vendor: "dji",
    device_id: "DOCK1",
    command_type: "fileupload_start",
    channel: "services",
    accepted_at: T0,
    deadline_at: T0 + 30_000,
    ...overrides,
  };
}

function outcome(status: ReplyOutcome["status"], code = "0"): ReplyOutcome {
  return {
    status,
    response_code: code,
    vendor_response: { result: Number(code) },
    ...(status === "FAILED"
      ? { failure_code: "DEVICE_EXECUTION_FAILED", failure_reason: "device returned " + code }
      : {}),
  };
}

function start(overrides: Partial<CommandInput> = {}, snapshot?: unknown) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const records: Array<{ kind: TransitionKind; status: string }> = [];
  const problems: string[] = [];
  const machine = withDeadlineClock(commandMachine, () => clock.now()).provide({
    actions: {
      record: ({ self }, params) => {
        // The status the row will carry is the one after the transition: read it after it.
        queueMicrotask(() =>
          records.push({ kind: params.kind, status: statusOf(self.getSnapshot()) })
        );
      },
      reportProblem: (_, params) => problems.push(params.problem),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: input(overrides),
    ...(snapshot ? { snapshot: snapshot as never } : {}),
  });
  actor.start();
  return { actor, clock, records, problems };
}

const flush = () => new Promise<void>((r) => queueMicrotask(r));

test("delivered then a result 0 reply ends SUCCEEDED with the reply kept", async () => {
  const { actor, records } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 50,
    outcome: outcome("SUCCEEDED"),
  });
  await flush();
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "SUCCEEDED");
  assert.equal(s.status, "done");
  assert.equal(s.context.delivered_at, T0 + 5);
  assert.equal(s.context.response_received_at, T0 + 50);
  assert.equal(s.context.completed_at, T0 + 50);
  assert.equal(s.context.response_code, "0");
  assert.deepEqual(records.map((r) => r.kind), ["hosted", "delivered", "completed"]);
});

test("a non-zero result ends FAILED with DEVICE_EXECUTION_FAILED", () => {
  const { actor } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 9,
    outcome: outcome("FAILED", "321004"),
  });
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "FAILED");
  assert.equal(s.context.failure_code, "DEVICE_EXECUTION_FAILED");
  assert.equal(s.context.response_code, "321004");
});

test("an uncorrelated reply ends UNMATCHED_RESPONSE", () => {
  const { actor } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 9,
    outcome: { status: "UNMATCHED_RESPONSE", vendor_response: { method: "other" } },
  });
  assert.equal(statusOf(actor.getSnapshot()), "UNMATCHED_RESPONSE");
});

test("a reply that overtakes the delivery ack finishes from ACCEPTED, the late ack changes nothing", () => {
  const { actor } = start();
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 9,
    outcome: outcome("SUCCEEDED"),
  });
  actor.send({ type: "bridge.delivered", at: T0 + 10 });
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "SUCCEEDED");
  assert.equal(s.context.delivered_at, undefined);
});

test("no reply before the absolute deadline ends TIMED_OUT at the deadline, not before", () => {
  const { actor, clock } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  clock.increment(29_999);
  assert.equal(statusOf(actor.getSnapshot()), "DELIVERED");
  clock.increment(1);
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.completed_at, T0 + 30_000);
  assert.equal(s.context.failure_code, "DEVICE_TIMEOUT");
});

test("a command never delivered also times out, from ACCEPTED", () => {
  const { actor, clock } = start();
  clock.increment(30_000);
  assert.equal(statusOf(actor.getSnapshot()), "TIMED_OUT");
});

test("a reply after TIMED_OUT is kept while the status stays TIMED_OUT", async () => {
  const { actor, clock, records } = start();
  clock.increment(30_000);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 31_000,
    outcome: outcome("SUCCEEDED"),
  });
  await flush();
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.response_code, "0");
  assert.equal(s.context.response_received_at, T0 + 31_000);
  assert.equal(s.context.failure_code, "DEVICE_TIMEOUT");
  assert.deepEqual(records.map((r) => r.kind), ["hosted", "completed", "late_reply"]);
});

test("a reply from another gateway changes nothing and reports a problem", () => {
  const { actor, problems } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "INTRUDER",
    received_at: T0 + 9,
    outcome: outcome("SUCCEEDED"),
  });
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "DELIVERED");
  assert.equal(s.context.response_code, undefined);
  assert.deepEqual(problems, ["FOREIGN_GATEWAY_REPLY"]);
});

test("terminal states ignore later events", () => {
  const { actor, clock } = start();
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 9,
    outcome: outcome("FAILED", "7"),
  });
  clock.increment(60_000);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    received_at: T0 + 70_000,
    outcome: outcome("SUCCEEDED"),
  });
  assert.equal(statusOf(actor.getSnapshot()), "FAILED");
  assert.equal(actor.getSnapshot().context.response_code, "7");
});

test("a restored snapshot keeps its original deadline once re-armed", () => {
  const first = start();
  first.actor.send({ type: "bridge.delivered", at: T0 + 5 });
  const persisted = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
  first.actor.stop();

  const { actor, clock, records } = start({}, persisted);
  // Restored 10 s later: xstate does not re-arm `after` timers (statelyai/xstate#5331)...
  clock.set(T0 + 10_000);
  actor.send({ type: "deadline.rearm" });
  assert.equal(statusOf(actor.getSnapshot()), "DELIVERED");
  // ...the re-armed timer fires at the original absolute deadline.
  clock.increment(19_999);
  assert.equal(statusOf(actor.getSnapshot()), "DELIVERED");
  clock.increment(1);
  assert.equal(statusOf(actor.getSnapshot()), "TIMED_OUT");
  assert.equal(actor.getSnapshot().context.delivered_at, T0 + 5);
  // A restore does not record "hosted" again.
  assert.equal(records.filter((r) => r.kind === "hosted").length, 0);
});

test("a command restored after its deadline times out at once when re-armed", () => {
  const first = start();
  const persisted = first.actor.getPersistedSnapshot();
  first.actor.stop();
  const { actor, clock } = start({}, persisted);
  clock.set(T0 + 120_000);
  actor.send({ type: "deadline.rearm" });
  clock.increment(0);
  assert.equal(statusOf(actor.getSnapshot()), "TIMED_OUT");
  assert.equal(actor.getSnapshot().context.completed_at, T0 + 30_000);
});
