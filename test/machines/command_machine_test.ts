// The command machine on its own: every lifecycle transition. It arms no timer: deadlines arrive
// as `deadline.reached` (the host's deadline schedule sends them; test/shard covers that).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createActor, SimulatedClock } from "xstate";
import {
  type CommandEvent,
  type CommandInput,
  commandMachine,
  type PersistedCommandSnapshot,
  type ReplyOutcome,
  restingSnapshot,
  statusOf,
  type TransitionKind,
} from "../../machines/command_machine.ts";
import { SAMPLE_COMMAND } from "../support/sample_command.ts";

const T0 = 1_700_000_000_000;

function input(overrides: Partial<CommandInput> = {}): CommandInput {
  return {
    command_id: "0190b6c4-0000-7000-8000-000000000001",
    ...SAMPLE_COMMAND,
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
  const finished: string[] = [];
  const machine = commandMachine.provide({
    actions: {
      record: ({ self }, params) => {
        // The status the row will carry is the one after the transition: read it after it.
        queueMicrotask(() =>
          records.push({ kind: params.kind, status: statusOf(self.getSnapshot()) })
        );
      },
      reportProblem: (_, params) => problems.push(params.problem),
      notifyFinished: ({ context }) => finished.push(context.command_id),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: input(overrides),
    ...(snapshot ? { snapshot: snapshot as never } : {}),
  });
  actor.start();
  return { actor, clock, records, problems, finished };
}

const DEADLINE: CommandEvent = { type: "deadline.reached", at: T0 + 30_000 };

const flush = () => new Promise<void>((r) => queueMicrotask(r));

test("delivered then a result 0 reply ends SUCCEEDED with the reply kept", async () => {
  const { actor, records } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
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
  assert.deepEqual(records.map((r) => r.kind), ["delivered", "completed"]);
});

test("a non-zero result ends FAILED with DEVICE_EXECUTION_FAILED", () => {
  const { actor } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
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
    channel: "services",
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
    channel: "services",
    received_at: T0 + 9,
    outcome: outcome("SUCCEEDED"),
  });
  actor.send({ type: "bridge.delivered", at: T0 + 10 });
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "SUCCEEDED");
  assert.equal(s.context.delivered_at, undefined);
});

test("deadline.reached ends TIMED_OUT, completed at the deadline, and finishes the command", () => {
  const { actor, clock, finished } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  clock.increment(60_000);
  assert.equal(statusOf(actor.getSnapshot()), "DELIVERED", "the machine arms no timer itself");
  assert.deepEqual(finished, []);
  actor.send(DEADLINE);
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.completed_at, T0 + 30_000);
  assert.equal(s.context.failure_code, "DEVICE_TIMEOUT");
  assert.deepEqual(finished, [s.context.command_id]);
});

test("a command never delivered also times out, from ACCEPTED", () => {
  const { actor } = start();
  actor.send(DEADLINE);
  assert.equal(statusOf(actor.getSnapshot()), "TIMED_OUT");
});

test("a command never sent because its gateway was offline ends TIMED_OUT with DEVICE_OFFLINE and when it was last seen", async () => {
  const { actor, records, finished } = start();
  actor.send({ ...DEADLINE, device_offline: { last_seen_at: T0 - 90_000 } });
  await flush();
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.completed_at, T0 + 30_000);
  assert.equal(s.context.failure_code, "DEVICE_OFFLINE");
  assert.equal(
    s.context.failure_reason,
    "the device was not online before the deadline: last seen 2023-11-14T22:11:50.000Z",
  );
  assert.deepEqual(records.map((r) => r.kind), ["completed"]);
  assert.deepEqual(finished, [s.context.command_id]);
});

test("DEVICE_OFFLINE says when the device was never seen", () => {
  const { actor } = start();
  actor.send({ ...DEADLINE, device_offline: {} });
  assert.equal(
    actor.getSnapshot().context.failure_reason,
    "the device was not online before the deadline: it has never been seen",
  );
});

test("a command never sent because its class's job ran ends TIMED_OUT naming that job", async () => {
  const { actor, records } = start();
  actor.send({ ...DEADLINE, held_by: { command_id: "cmd-0", class: "remote_debug" } });
  await flush();
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.completed_at, T0 + 30_000);
  assert.equal(s.context.failure_code, "DEVICE_TIMEOUT");
  assert.equal(
    s.context.failure_reason,
    "never sent: held behind command cmd-0 of class remote_debug " +
      "(the dock runs one such job at a time) until the deadline",
  );
  assert.deepEqual(records.map((r) => r.kind), ["completed"]);
});

test("a reply after TIMED_OUT is kept while the status stays TIMED_OUT", async () => {
  const { actor, records } = start();
  actor.send(DEADLINE);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    received_at: T0 + 31_000,
    outcome: outcome("SUCCEEDED"),
  });
  await flush();
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.response_code, "0");
  assert.equal(s.context.response_received_at, T0 + 31_000);
  assert.equal(s.context.failure_code, "DEVICE_TIMEOUT");
  assert.deepEqual(records.map((r) => r.kind), ["completed", "late_reply"]);
});

test("a reply on another channel than the command's changes nothing and reports a problem", () => {
  const { actor, problems } = start();
  actor.send({ type: "bridge.delivered", at: T0 + 5 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "drc",
    received_at: T0 + 9,
    outcome: outcome("SUCCEEDED"),
  });
  let s = actor.getSnapshot();
  assert.equal(statusOf(s), "DELIVERED");
  assert.equal(s.context.response_code, undefined);
  assert.equal(s.context.response_received_at, undefined);
  assert.deepEqual(problems, ["REPLY_WRONG_CHANNEL"]);
  // The command still waits for its reply on its own channel.
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    received_at: T0 + 20,
    outcome: outcome("SUCCEEDED"),
  });
  s = actor.getSnapshot();
  assert.equal(statusOf(s), "SUCCEEDED");
  assert.equal(s.context.response_received_at, T0 + 20);
});

test("a DRC command is finished by a reply on drc, not by one on services", () => {
  const { actor, problems, clock } = start({ command_type: "drone_control", channel: "drc" });
  clock.increment(5);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    received_at: clock.now(),
    outcome: outcome("SUCCEEDED"),
  });
  assert.equal(statusOf(actor.getSnapshot()), "ACCEPTED");
  assert.deepEqual(problems, ["REPLY_WRONG_CHANNEL"]);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "drc",
    received_at: clock.now(),
    outcome: outcome("SUCCEEDED"),
  });
  assert.equal(statusOf(actor.getSnapshot()), "SUCCEEDED");
});

test("a late reply on another channel is not kept by a TIMED_OUT command", () => {
  const { actor, problems } = start();
  actor.send(DEADLINE);
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "drc",
    received_at: T0 + 31_000,
    outcome: outcome("SUCCEEDED"),
  });
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.response_received_at, undefined);
  assert.deepEqual(problems, ["REPLY_WRONG_CHANNEL"]);
});

test("terminal states ignore later events", () => {
  const { actor } = start();
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    received_at: T0 + 9,
    outcome: outcome("FAILED", "7"),
  });
  actor.send({ type: "deadline.reached", at: T0 + 30_000 });
  actor.send({
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    received_at: T0 + 70_000,
    outcome: outcome("SUCCEEDED"),
  });
  assert.equal(statusOf(actor.getSnapshot()), "FAILED");
  assert.equal(actor.getSnapshot().context.response_code, "7");
});

test("a passivated command (persisted, stopped, restored per event) ends as a live one", async () => {
  const events: CommandEvent[] = [
    { type: "bridge.delivered", at: T0 + 5 },
    {
      type: "device.reply",
      gateway: "DOCK1",
      channel: "services",
      received_at: T0 + 50,
      outcome: outcome("FAILED", "7"),
    },
  ];
  const live = start();
  for (const e of events) live.actor.send(e);

  let snapshot: unknown = restingSnapshot("ACCEPTED", input());
  const kinds: TransitionKind[] = [];
  for (const e of events) {
    // What the host does per event: materialise from the JSON form, take the event, persist.
    const m = start({}, JSON.parse(JSON.stringify(snapshot)));
    m.actor.send(e);
    snapshot = m.actor.getPersistedSnapshot();
    m.actor.stop();
    await flush();
    kinds.push(...m.records.map((r) => r.kind));
  }
  await flush();
  assert.deepEqual(
    JSON.parse(JSON.stringify(snapshot)),
    JSON.parse(JSON.stringify(live.actor.getPersistedSnapshot())),
  );
  assert.equal(statusOf(snapshot as PersistedCommandSnapshot), "FAILED");
  assert.deepEqual(kinds, ["delivered", "completed"]);
});

test("restingSnapshot is the snapshot a freshly started command persists", () => {
  const { actor } = start();
  assert.deepEqual(actor.getPersistedSnapshot(), restingSnapshot("ACCEPTED", input()));
});

test("a resting DELIVERED snapshot built from a row takes the deadline like a live one", () => {
  const { actor } = start(
    {},
    restingSnapshot("DELIVERED", { ...input(), delivered_at: T0 + 5 }),
  );
  actor.send(DEADLINE);
  const s = actor.getSnapshot();
  assert.equal(statusOf(s), "TIMED_OUT");
  assert.equal(s.context.delivered_at, T0 + 5);
  assert.equal(s.context.completed_at, T0 + 30_000);
});
