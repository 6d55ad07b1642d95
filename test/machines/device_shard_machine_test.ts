// The device shard machine: hosting, FIFO hand-off to the bridge, reply routing, restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createActor, SimulatedClock } from "xstate";
import {
  type CommandInput,
  commandMachine,
  type ReplyOutcome,
  statusOf,
  withDeadlineClock,
} from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  deviceShardMachine,
  restoredDeviceSnapshot,
} from "../../machines/device_shard_machine.ts";

const T0 = 1_700_000_000_000;
const OK: ReplyOutcome = {
  status: "SUCCEEDED",
  response_code: "0",
  vendor_response: { result: 0 },
};

function command(n: number, overrides: Partial<CommandInput> = {}): CommandInput {
  return {
    command_id: `cmd-${n}`,
    tenant_id: "t1",
    client_id: "c1",
    vendor: "dji",
    device_id: "DOCK1",
    command_type: "fileupload_start",
    channel: "services",
    accepted_at: T0 + n,
    deadline_at: T0 + 30_000 + n,
    ...overrides,
  };
}

function start(snapshot?: unknown) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const sent: string[] = [];
  const unknown: DeviceReplyEvent[] = [];
  const snapshots = new Map<string, () => unknown>();
  const machine = deviceShardMachine.provide({
    actors: {
      command: withDeadlineClock(commandMachine, () => clock.now()).provide({
        actions: {
          record: ({ self }) => {
            snapshots.set(self.id, () => self.getPersistedSnapshot());
          },
        },
      }),
    },
    actions: {
      sendToBridge: (_, { command_id }) => sent.push(command_id),
      reportUnknownReply: (_, { reply }) => unknown.push(reply),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { device_id: "DOCK1" },
    ...(snapshot ? { snapshot: snapshot as never } : {}),
  });
  actor.start();
  const statusOfChild = (id: string) => {
    const child = actor.getSnapshot().children[id];
    return child ? statusOf(child.getSnapshot()) : undefined;
  };
  return { actor, clock, sent, unknown, snapshots, statusOfChild };
}

function reply(tid: string | undefined, extra: Partial<DeviceReplyEvent> = {}): DeviceReplyEvent {
  return {
    type: "device.reply",
    gateway: "DOCK1",
    channel: "services",
    tid,
    method: "fileupload_start",
    received_at: T0 + 100,
    outcome: OK,
    ...extra,
  };
}

test("hands commands to the bridge one at a time, the next after the previous is delivered", () => {
  const { actor, sent } = start();
  for (let i = 1; i <= 3; i++) actor.send({ type: "command.dispatched", command: command(i) });
  assert.deepEqual(sent, ["cmd-1"]);
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  actor.send({ type: "bridge.delivered", command_id: "cmd-2", at: T0 + 6 });
  actor.send({ type: "bridge.delivered", command_id: "cmd-3", at: T0 + 7 });
  assert.deepEqual(sent, ["cmd-1", "cmd-2", "cmd-3"]);
});

test("a command finished before its delivery ack releases the next one", () => {
  const { actor, sent, statusOfChild } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send(reply("cmd-1"));
  assert.equal(statusOfChild("cmd-1"), undefined, "a finished command is no longer hosted");
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-2"]);
});

test("a redelivered dispatch does not host the command twice", () => {
  const { actor, sent } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(1) });
  assert.equal(actor.getSnapshot().context.pending.length, 1);
  assert.deepEqual(sent, ["cmd-1"]);
});

test("replies reach the command with their tid", () => {
  const { actor, statusOfChild } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  actor.send({ type: "bridge.delivered", command_id: "cmd-2", at: T0 + 6 });
  actor.send(reply("cmd-2"));
  assert.equal(statusOfChild("cmd-1"), "DELIVERED");
  assert.equal(statusOfChild("cmd-2"), undefined);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-1"]);
});

test("a reply with an unknown tid is reported and changes nothing", () => {
  const { actor, unknown, statusOfChild } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send(reply("nope"));
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].tid, "nope");
  assert.equal(statusOfChild("cmd-1"), "ACCEPTED");
});

test("a reply from another gateway leaves the command as it was", () => {
  const { actor, statusOfChild } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  actor.send(reply("cmd-1", { gateway: "OTHER" }));
  assert.equal(statusOfChild("cmd-1"), "DELIVERED");
});

test("a DRC reply without tid matches the oldest pending command with the same method", () => {
  const { actor, statusOfChild } = start();
  const drc = { channel: "drc" as const, command_type: "drone_control" };
  actor.send({ type: "command.dispatched", command: command(1, drc) });
  actor.send({ type: "command.dispatched", command: command(2, drc) });
  actor.send(reply(undefined, { channel: "drc", method: "drone_control" }));
  assert.equal(statusOfChild("cmd-1"), undefined);
  assert.equal(statusOfChild("cmd-2"), "ACCEPTED");
});

test("a timed-out command is released and the queue moves on", () => {
  const { actor, clock, sent } = start();
  actor.send({ type: "command.dispatched", command: command(1, { deadline_at: T0 + 1_000 }) });
  actor.send({ type: "command.dispatched", command: command(2) });
  assert.deepEqual(sent, ["cmd-1"]);
  clock.increment(1_000);
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-2"]);
});

test("a restored shard resends undelivered commands and keeps original deadlines", () => {
  const first = start();
  first.actor.send({ type: "command.dispatched", command: command(1) });
  first.actor.send({ type: "command.dispatched", command: command(2) });
  first.actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  const persisted = ["cmd-1", "cmd-2"].map((id) =>
    JSON.parse(JSON.stringify(first.snapshots.get(id)!()))
  );
  first.actor.stop();

  const snapshot = restoredDeviceSnapshot("DOCK1", persisted.map((snapshot) => ({ snapshot })));
  const { actor, clock, sent, statusOfChild } = start(snapshot);
  clock.set(T0 + 20_000);
  actor.send({ type: "commands.rearm" });
  assert.equal(statusOfChild("cmd-1"), "DELIVERED");
  assert.equal(statusOfChild("cmd-2"), "ACCEPTED");
  assert.deepEqual(sent, ["cmd-2"], "only the undelivered command goes to the bridge again");
  clock.increment(10_001);
  assert.equal(statusOfChild("cmd-1"), undefined, "cmd-1 timed out at T0+30001");
  assert.equal(statusOfChild("cmd-2"), "ACCEPTED");
  clock.increment(1);
  assert.equal(statusOfChild("cmd-2"), undefined);
  assert.equal(actor.getSnapshot().context.pending.length, 0);
});
