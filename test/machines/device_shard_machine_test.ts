// The device shard machine: hosting (a child command actor per command), FIFO hand-off to the
// bridge, reply routing, passivation, restore. Its `toCommand` action is given as the host runs
// it: the event goes to the command's child actor, and its persisted snapshot is kept after it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type AnyActorRef, createActor, type InspectionEvent, SimulatedClock } from "xstate";
import {
  type CommandInput,
  commandMachine,
  type PersistedCommandSnapshot,
  type ReplyOutcome,
  restingSnapshot,
  spawnableCommand,
  statusOf,
} from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  deviceShardMachine,
  type Exclusivity,
  type GatewayPresence,
  restoredDeviceSnapshot,
} from "../../machines/device_shard_machine.ts";
import { SAMPLE_COMMAND } from "../support/sample_command.ts";

const T0 = 1_700_000_000_000;
const OK: ReplyOutcome = {
  status: "SUCCEEDED",
  response_code: "0",
  vendor_response: { result: 0 },
};

function command(n: number, overrides: Partial<CommandInput> = {}): CommandInput {
  return {
    command_id: `cmd-${n}`,
    ...SAMPLE_COMMAND,
    accepted_at: T0 + n,
    deadline_at: T0 + 30_000 + n,
    ...overrides,
  };
}

const ONLINE: GatewayPresence = { online: true, last_seen_at: T0 - 1_000 };

function start(
  restored?: { device: unknown; commands: PersistedCommandSnapshot[] },
  gateway: GatewayPresence = ONLINE,
  inspect?: (event: InspectionEvent) => void,
) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const sent: string[] = [];
  const unknown: DeviceReplyEvent[] = [];
  /** What the host's job schedule would hold (command id → deadline), and the held reports. */
  const watched = new Map<string, number>();
  const held: Array<{ command_id: string; class: string; behind: string }> = [];
  /** The commands' persisted snapshots as of their last step, as the host keeps them. */
  const snapshots = new Map<string, PersistedCommandSnapshot>();
  for (const c of restored?.commands ?? []) snapshots.set(c.context.command_id, c);
  let finished = false;
  const commandLogic = spawnableCommand(commandMachine.provide({
    actions: { notifyFinished: () => void (finished = true) },
  }));
  const machine = deviceShardMachine.provide({
    actors: { command: commandLogic },
    actions: {
      startCommand: (_, { command }) => {
        snapshots.set(command.command_id, restingSnapshot("ACCEPTED", command));
      },
      toCommand: ({ self }, { command_id, event }) => {
        finished = false;
        const child = self.getSnapshot().children[command_id] as AnyActorRef;
        child.send(event);
        const next = child.getPersistedSnapshot() as PersistedCommandSnapshot;
        snapshots.set(command_id, next);
        if (finished) self.send({ type: "command.finished", command_id, status: statusOf(next) });
      },
      sendToBridge: (_, { command_id }) => sent.push(command_id),
      reportUnknownReply: (_, { reply }) => unknown.push(reply),
      watchJob: (_, { command_id, at }) => void watched.set(command_id, at),
      unwatchJob: (_, { command_id }) => void watched.delete(command_id),
      reportHeld: (_, { command_id, held_by }) =>
        void held.push({ command_id, class: held_by.class, behind: held_by.command_id }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { device_id: "DOCK1", gateway },
    ...(restored ? { snapshot: restored.device as never } : {}),
    ...(inspect ? { inspect } : {}),
  });
  actor.start();
  // Restored commands are kept passivated; the host wakes one when an event for it comes, and
  // this shard takes every event for them, so it wakes them all.
  for (const c of restored?.commands ?? []) {
    actor.send({ type: "command.wake", command_id: c.context.command_id, snapshot: c });
  }
  const hosted = (id: string) => actor.getSnapshot().context.pending.some((p) => p.id === id);
  /** The command's status while hosted; undefined once the shard let it go. */
  const statusOfHosted = (id: string) => hosted(id) ? statusOf(snapshots.get(id)!) : undefined;
  const statusOfCommand = (id: string) => statusOf(snapshots.get(id)!);
  return {
    actor,
    clock,
    sent,
    unknown,
    snapshots,
    statusOfHosted,
    statusOfCommand,
    watched,
    held,
  };
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
  const { actor, sent, statusOfHosted } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send(reply("cmd-1"));
  assert.equal(statusOfHosted("cmd-1"), undefined, "a finished command is no longer hosted");
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
  const { actor, statusOfHosted } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  actor.send({ type: "bridge.delivered", command_id: "cmd-2", at: T0 + 6 });
  actor.send(reply("cmd-2"));
  assert.equal(statusOfHosted("cmd-1"), "DELIVERED");
  assert.equal(statusOfHosted("cmd-2"), undefined);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-1"]);
});

test("a reply with an unknown tid is reported and changes nothing", () => {
  const { actor, unknown, statusOfHosted } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send(reply("nope"));
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].tid, "nope");
  assert.equal(statusOfHosted("cmd-1"), "ACCEPTED");
});

test("a DRC reply without tid matches the oldest pending command with the same method", () => {
  const { actor, statusOfHosted } = start();
  const drc = { channel: "drc" as const, command_type: "drone_control" };
  actor.send({ type: "command.dispatched", command: command(1, drc) });
  actor.send({ type: "command.dispatched", command: command(2, drc) });
  actor.send(reply(undefined, { channel: "drc", method: "drone_control" }));
  assert.equal(statusOfHosted("cmd-1"), undefined);
  assert.equal(statusOfHosted("cmd-2"), "ACCEPTED");
});

test("a timed-out command is released and the queue moves on", () => {
  const { actor, sent, statusOfCommand } = start();
  actor.send({ type: "command.dispatched", command: command(1, { deadline_at: T0 + 1_000 }) });
  actor.send({ type: "command.dispatched", command: command(2) });
  assert.deepEqual(sent, ["cmd-1"]);
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 1_000 });
  assert.equal(statusOfCommand("cmd-1"), "TIMED_OUT");
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-2"]);
});

test("a deadline for a command no longer hosted changes nothing", () => {
  const { actor, statusOfCommand } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send(reply("cmd-1"));
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 30_001 });
  assert.equal(statusOfCommand("cmd-1"), "SUCCEEDED");
});

test("each command in flight is a child actor of its shard, stopped once finished", () => {
  const { actor } = start();
  for (let i = 1; i <= 3; i++) actor.send({ type: "command.dispatched", command: command(i) });
  const children = actor.getSnapshot().children as Record<string, AnyActorRef>;
  assert.deepEqual(Object.keys(children), ["cmd-1", "cmd-2", "cmd-3"]);
  assert.equal(children["cmd-1"].getSnapshot().value, "ACCEPTED");
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  assert.equal(children["cmd-1"].getSnapshot().value, "DELIVERED", "the child took the event");
  actor.send(reply("cmd-1"));
  assert.deepEqual(Object.keys(actor.getSnapshot().children), ["cmd-2", "cmd-3"]);
  assert.equal(children["cmd-1"].getSnapshot().status, "done");
});

test("a passivated command is stopped, spawned again from its snapshot, and finishes", () => {
  const { actor, snapshots, statusOfHosted, sent } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  const live = actor.getSnapshot().children["cmd-1"] as AnyActorRef;
  actor.send({ type: "command.passivate", command_id: "cmd-1" });
  assert.equal(actor.getSnapshot().children["cmd-1"], undefined, "no actor while passivated");
  assert.equal(live.getSnapshot().status, "stopped");
  assert.equal(statusOfHosted("cmd-1"), "DELIVERED", "kept as its snapshot");

  // Through JSON, as a snapshot read back from Postgres would be.
  const kept = JSON.parse(JSON.stringify(snapshots.get("cmd-1")));
  actor.send({ type: "command.wake", command_id: "cmd-1", snapshot: kept });
  const woken = actor.getSnapshot().children["cmd-1"] as AnyActorRef;
  assert.notEqual(woken, live, "a new actor");
  assert.equal(woken.getSnapshot().value, "DELIVERED");
  actor.send({ type: "command.wake", command_id: "cmd-1", snapshot: kept });
  assert.equal(actor.getSnapshot().children["cmd-1"], woken, "a live command is not spawned twice");

  actor.send(reply("cmd-1"));
  assert.equal(statusOf(snapshots.get("cmd-1")!), "SUCCEEDED");
  assert.equal(snapshots.get("cmd-1")!.context.delivered_at, T0 + 5, "its context came back");
  assert.equal(statusOfHosted("cmd-1"), undefined);
  assert.deepEqual(Object.keys(actor.getSnapshot().children), ["cmd-2"]);
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
});

test("a shard's persisted snapshot holds its live commands, and restores them as its children", () => {
  const first = start();
  first.actor.send({ type: "command.dispatched", command: command(1) });
  first.actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  const persisted = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
  first.actor.stop();
  assert.equal(persisted.children["cmd-1"].src, "command");

  const { actor, snapshots } = start({ device: persisted, commands: [] });
  const child = actor.getSnapshot().children["cmd-1"] as AnyActorRef;
  assert.equal(child.getSnapshot().value, "DELIVERED");
  actor.send(reply("cmd-1"));
  assert.equal(statusOf(snapshots.get("cmd-1")!), "SUCCEEDED");
});

test("the inspector sees the shard and each command actor as its child", () => {
  const events: InspectionEvent[] = [];
  const { actor } = start(undefined, ONLINE, (e) => events.push(e));
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  const actors = events.filter((e) => e.type === "@xstate.actor").map((e) =>
    e.actorRef as AnyActorRef
  );
  const child = actors.find((a) => a.id === "cmd-1");
  assert.ok(child, "the command actor is announced");
  assert.equal(child._parent, actor, "as the shard's child");
  assert.equal(actors.includes(actor), true, "the shard is announced too");
  assert.ok(
    events.some((e) =>
      e.type === "@xstate.snapshot" && e.actorRef === child &&
      (e.snapshot as { value?: unknown }).value === "DELIVERED"
    ),
    "the inspector sees the command actor take its event",
  );
});

test("a restored shard resends undelivered commands and routes to the restored snapshots", () => {
  const first = start();
  first.actor.send({ type: "command.dispatched", command: command(1) });
  first.actor.send({ type: "command.dispatched", command: command(2) });
  first.actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 5 });
  const persisted = ["cmd-1", "cmd-2"].map((id) =>
    JSON.parse(JSON.stringify(first.snapshots.get(id)!)) as PersistedCommandSnapshot
  );
  first.actor.stop();

  const device = restoredDeviceSnapshot(
    "DOCK1",
    persisted.map((snapshot) => ({ snapshot })),
    ONLINE,
  );
  const { actor, sent, statusOfHosted } = start({ device, commands: persisted });
  actor.send({ type: "commands.resume" });
  assert.equal(statusOfHosted("cmd-1"), "DELIVERED");
  assert.equal(statusOfHosted("cmd-2"), "ACCEPTED");
  assert.deepEqual(sent, ["cmd-2"], "only the undelivered command goes to the bridge again");
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 30_001 });
  assert.equal(statusOfHosted("cmd-1"), undefined, "cmd-1 timed out");
  actor.send(reply("cmd-2"));
  assert.equal(statusOfHosted("cmd-2"), undefined);
  assert.equal(actor.getSnapshot().context.pending.length, 0);
});

test("commands for an offline gateway wait unsent, and go in order once it comes online", () => {
  const { actor, sent, statusOfHosted } = start(undefined, { online: false });
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  assert.deepEqual(sent, [], "nothing is published to a gateway that is not listening");
  assert.equal(statusOfHosted("cmd-1"), "ACCEPTED");
  actor.send({ type: "gateway.presence", online: true, last_seen_at: T0 + 100 });
  assert.deepEqual(sent, ["cmd-1"], "the oldest first, the next after its delivery");
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 101 });
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
});

test("a gateway going offline holds the commands not yet sent; the one sent keeps its course", () => {
  const { actor, sent, statusOfHosted } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "command.dispatched", command: command(2) });
  actor.send({ type: "gateway.presence", online: false, last_seen_at: T0 + 50 });
  actor.send({ type: "bridge.delivered", command_id: "cmd-1", at: T0 + 60 });
  assert.deepEqual(sent, ["cmd-1"]);
  assert.equal(statusOfHosted("cmd-1"), "DELIVERED");
  assert.equal(statusOfHosted("cmd-2"), "ACCEPTED");
});

test("the deadline of a command held for an offline gateway ends it DEVICE_OFFLINE with when it was last seen", () => {
  const { actor, snapshots, sent } = start(undefined, { online: false, last_seen_at: T0 - 60_000 });
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 30_001 });
  const c = snapshots.get("cmd-1")!;
  assert.equal(statusOf(c), "TIMED_OUT");
  assert.equal(c.context.failure_code, "DEVICE_OFFLINE");
  assert.match(c.context.failure_reason!, /last seen 2023-11-14T22:12:20\.000Z$/);
  assert.deepEqual(sent, []);
  assert.equal(actor.getSnapshot().context.pending.length, 0);
});

test("a command sent before its gateway went offline times out as DEVICE_TIMEOUT", () => {
  const { actor, snapshots } = start();
  actor.send({ type: "command.dispatched", command: command(1) });
  actor.send({ type: "gateway.presence", online: false, last_seen_at: T0 + 5 });
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 30_001 });
  assert.equal(snapshots.get("cmd-1")!.context.failure_code, "DEVICE_TIMEOUT");
});

test("a restored shard of an offline gateway sends nothing until it is online", () => {
  const persisted = [restingSnapshot("ACCEPTED", command(1))];
  const device = restoredDeviceSnapshot(
    "DOCK1",
    persisted.map((snapshot) => ({ snapshot })),
    { online: false },
  );
  const { actor, sent } = start({ device, commands: persisted }, { online: false });
  actor.send({ type: "commands.resume" });
  assert.deepEqual(sent, []);
  actor.send({ type: "gateway.presence", online: true, last_seen_at: T0 });
  assert.deepEqual(sent, ["cmd-1"]);
});

// One job per class on a dock (issue 14 item 4).

const REMOTE_DEBUG: Exclusivity = { class: "remote_debug", progress: true };
const LOG_UPLOAD: Exclusivity = { class: "log_upload", progress: true };

/** A command of a class: dispatched with its exclusivity, as the host reads it from the catalog. */
function job(n: number, method: string, exclusivity: Exclusivity, overrides = {}) {
  return {
    type: "command.dispatched" as const,
    command: command(n, { command_type: method, ...overrides }),
    exclusivity,
  };
}

const delivered = (n: number) => ({
  type: "bridge.delivered" as const,
  command_id: `cmd-${n}`,
  at: T0 + 10 + n,
});

const FAILED: ReplyOutcome = {
  status: "FAILED",
  response_code: "514116",
  vendor_response: { result: 514116 },
  failure_code: "DEVICE_EXECUTION_FAILED",
};

test("a job of a class holds the next command of its class until the job's terminal progress", () => {
  const { actor, sent, statusOfHosted, held, watched } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "cover_close", REMOTE_DEBUG));
  assert.deepEqual(sent, ["cmd-1"]);
  assert.deepEqual(held, [{ command_id: "cmd-2", class: "remote_debug", behind: "cmd-1" }]);
  assert.deepEqual([...watched], [["cmd-1", T0 + 30_001]], "the job ends at its deadline at most");
  actor.send(delivered(1));
  assert.deepEqual(sent, ["cmd-1"], "delivered is not the end of the job");
  actor.send(reply("cmd-1", { method: "cover_open" }));
  assert.equal(statusOfHosted("cmd-1"), undefined, "cmd-1 SUCCEEDED: its job started");
  assert.deepEqual(sent, ["cmd-1"], "the job runs on after its reply");
  assert.equal(statusOfHosted("cmd-2"), "ACCEPTED");
  actor.send({ type: "job.finished", command_id: "cmd-1" });
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  assert.deepEqual([...watched], [["cmd-2", T0 + 30_002]]);
  assert.equal(held.length, 1, "told once");
});

test("classless commands and commands of other classes go past a held one, in acceptance order", () => {
  const { actor, sent } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "device_reboot", REMOTE_DEBUG));
  actor.send({ type: "command.dispatched", command: command(3, { command_type: "camera_aim" }) });
  actor.send(job(4, "fileupload_start", LOG_UPLOAD));
  actor.send(job(5, "drone_open", REMOTE_DEBUG));
  assert.deepEqual(sent, ["cmd-1"], "one awaiting delivery at a time still");
  actor.send(delivered(1));
  assert.deepEqual(sent, ["cmd-1", "cmd-3"], "cmd-2 waits for cmd-1's job; cmd-3 goes past it");
  actor.send(delivered(3));
  assert.deepEqual(sent, ["cmd-1", "cmd-3", "cmd-4"]);
  actor.send(delivered(4));
  assert.deepEqual(sent, ["cmd-1", "cmd-3", "cmd-4"], "cmd-5 is of cmd-1's class too");
  actor.send({ type: "job.finished", command_id: "cmd-1" });
  assert.deepEqual(sent, ["cmd-1", "cmd-3", "cmd-4", "cmd-2"], "the class's oldest goes first");
  actor.send(delivered(2));
  actor.send({ type: "job.finished", command_id: "cmd-2" });
  assert.deepEqual(sent, ["cmd-1", "cmd-3", "cmd-4", "cmd-2", "cmd-5"]);
});

test("a job refused by the dock (a failed reply) frees its class at once", () => {
  const { actor, sent, watched } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "cover_close", REMOTE_DEBUG));
  actor.send(reply("cmd-1", { method: "cover_open", outcome: FAILED }));
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  assert.deepEqual([...watched.keys()], ["cmd-2"]);
});

test("a class whose job reports no progress is free at the job's reply", () => {
  const { actor, sent } = start();
  const quick: Exclusivity = { class: "quick", progress: false };
  actor.send(job(1, "quick_a", quick));
  actor.send(job(2, "quick_b", quick));
  actor.send(delivered(1));
  assert.deepEqual(sent, ["cmd-1"]);
  actor.send(reply("cmd-1", { method: "quick_a" }));
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
});

test("a job whose command timed out frees its class", () => {
  const { actor, sent, statusOfCommand } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG, { deadline_at: T0 + 1_000 }));
  actor.send(job(2, "cover_close", REMOTE_DEBUG));
  actor.send(delivered(1));
  actor.send({ type: "deadline.reached", command_id: "cmd-1", at: T0 + 1_000 });
  assert.equal(statusOfCommand("cmd-1"), "TIMED_OUT");
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
});

test("a job that never reports its end frees its class at its command's deadline", () => {
  const { actor, sent, watched } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG, { deadline_at: T0 + 5_000 }));
  actor.send(job(2, "cover_close", REMOTE_DEBUG, { deadline_at: T0 + 60_000 }));
  actor.send(reply("cmd-1", { method: "cover_open" }));
  assert.deepEqual(sent, ["cmd-1"]);
  assert.equal(watched.get("cmd-1"), T0 + 5_000);
  actor.send({ type: "job.deadline", command_id: "cmd-1", at: T0 + 5_000 });
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  // A late end of the job changes nothing.
  actor.send({ type: "job.finished", command_id: "cmd-1" });
  assert.deepEqual(Object.keys(actor.getSnapshot().context.running), ["remote_debug"]);
  assert.equal(actor.getSnapshot().context.running.remote_debug.command_id, "cmd-2");
});

test("a job's end reported before its reply frees the class; the reply then changes nothing", () => {
  const { actor, sent, statusOfCommand } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "cover_close", REMOTE_DEBUG));
  actor.send(delivered(1));
  actor.send({ type: "job.finished", command_id: "cmd-1" });
  assert.deepEqual(sent, ["cmd-1", "cmd-2"]);
  actor.send(reply("cmd-1", { method: "cover_open" }));
  assert.equal(statusOfCommand("cmd-1"), "SUCCEEDED");
  assert.equal(actor.getSnapshot().context.running.remote_debug.command_id, "cmd-2");
});

test("a held command whose deadline passes ends TIMED_OUT naming the job it waited behind", () => {
  const { actor, sent, snapshots } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "cover_close", REMOTE_DEBUG, { deadline_at: T0 + 2_000 }));
  actor.send(delivered(1));
  actor.send({ type: "deadline.reached", command_id: "cmd-2", at: T0 + 2_000 });
  const c = snapshots.get("cmd-2")!;
  assert.equal(statusOf(c), "TIMED_OUT");
  assert.equal(c.context.failure_code, "DEVICE_TIMEOUT");
  assert.equal(
    c.context.failure_reason,
    "never sent: held behind command cmd-1 of class remote_debug " +
      "(the dock runs one such job at a time) until the deadline",
  );
  assert.equal(c.context.completed_at, T0 + 2_000);
  assert.deepEqual(sent, ["cmd-1"]);
  assert.deepEqual(actor.getSnapshot().context.pending.map((p) => p.id), ["cmd-1"]);
});

test("a command waiting only for the previous delivery times out as DEVICE_TIMEOUT, not held", () => {
  const { actor, snapshots } = start();
  actor.send(job(1, "cover_open", REMOTE_DEBUG));
  actor.send(job(2, "fileupload_start", LOG_UPLOAD, { deadline_at: T0 + 2_000 }));
  actor.send({ type: "deadline.reached", command_id: "cmd-2", at: T0 + 2_000 });
  assert.equal(
    snapshots.get("cmd-2")!.context.failure_reason,
    "no reply from the device before the deadline",
  );
});

test("a restored shard keeps a SUCCEEDED command's running job, and watches its deadline again", () => {
  const persisted = [restingSnapshot("ACCEPTED", command(2, { command_type: "cover_close" }))];
  const device = restoredDeviceSnapshot(
    "DOCK1",
    persisted.map((snapshot) => ({ snapshot, exclusivity: REMOTE_DEBUG })),
    ONLINE,
    [{ command_id: "cmd-1", deadline_at: T0 + 9_000, class: "remote_debug" }],
  );
  const { actor, sent, watched } = start({ device, commands: persisted });
  actor.send({ type: "commands.resume" });
  assert.deepEqual(sent, [], "cmd-1's job still runs on the dock");
  assert.equal(watched.get("cmd-1"), T0 + 9_000);
  actor.send({ type: "job.finished", command_id: "cmd-1" });
  assert.deepEqual(sent, ["cmd-2"]);
});

test("a restored command sent before the restart holds its class unless its job ended", () => {
  const sentBefore = restingSnapshot("DELIVERED", command(1, { command_type: "cover_open" }));
  const waiting = restingSnapshot("ACCEPTED", command(2, { command_type: "cover_close" }));
  for (const [job_finished, expected] of [[false, []], [true, ["cmd-2"]]] as const) {
    const persisted = [sentBefore, waiting];
    const device = restoredDeviceSnapshot(
      "DOCK1",
      [
        { snapshot: sentBefore, exclusivity: REMOTE_DEBUG, job_finished },
        { snapshot: waiting, exclusivity: REMOTE_DEBUG },
      ],
      ONLINE,
    );
    const { actor, sent } = start({ device, commands: persisted });
    actor.send({ type: "commands.resume" });
    assert.deepEqual(sent, expected, `job_finished=${job_finished}`);
  }
});
