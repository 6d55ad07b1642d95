// The device host with fake effects and a SimulatedClock: each device shard is an actor and each
// command in flight its child, an idle command is kept as its snapshot until its next event, the
// deadlines fire from the one schedule, and a restore keeps every original deadline.
import { test } from "node:test";
import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import { type AnyActorRef, type InspectionEvent, SimulatedClock } from "xstate";
import type { AckedPublisher } from "../../src/bus/acked_publisher.ts";
import { createDeviceHost } from "../../src/shard/device_host.ts";
import type { SnapshotSource, TransitionWriter } from "../../src/shard/transition_writer.ts";
import type {
  InFlightCommand,
  LifecycleStore,
  SendClaim,
  UnfinishedJob,
} from "../../src/store/lifecycle_store.ts";
import { exclusivityOf, LASTING_JOB_METHODS } from "../../src/vendors/dji/exclusivity_classes.ts";
import type { TransitionKind } from "../../machines/command_machine.ts";
import type { GatewayPresence } from "../../machines/device_shard_machine.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import type { Logger } from "../../src/runtime/log.ts";
import { SAMPLE_COMMAND } from "../support/sample_command.ts";
import { hostedMachines, vendors } from "../../src/composition_root.ts";

const T0 = 1_700_000_000_000;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function row(n: number, status: "ACCEPTED" | "DELIVERED", deadline_at: number): InFlightCommand {
  return {
    command_id: `0190b6c4-0000-7000-8000-00000000000${n}`,
    ...SAMPLE_COMMAND,
    partition: 0,
    sent: false,
    bid: `bid-${n}`,
    status,
    accepted_at: T0 - 10_000 + n,
    deadline_at,
    ...(status === "DELIVERED" ? { delivered_at: T0 - 9_000 } : {}),
    snapshot: undefined,
    ...(status === "ACCEPTED" ? { payload_enc: new Uint8Array([n]) } : {}),
  };
}

/** Lets the sender's claim statement (a fake here) resolve. */
async function claimed() {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

function start(
  rows: InFlightCommand[],
  claims: Record<string, SendClaim> = {},
  o: {
    busyWriter?: boolean;
    presence?: Map<string, GatewayPresence>;
    /** Hold by class (the DJI classes), with these jobs not known to have ended. */
    unfinished?: UnfinishedJob[];
    inspect?: (event: InspectionEvent) => void;
  } = {},
) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const published: Array<{ subject: string; command_id: string; bid: string }> = [];
  const publisher: AckedPublisher = {
    publish: (subject: string, body: Uint8Array) => {
      const m = JSON.parse(new TextDecoder().decode(body));
      published.push({ subject, command_id: m.command_id, bid: m.bid });
      return Promise.resolve();
    },
    close() {},
  };
  const records: Array<{ ref: SnapshotSource; kind: TransitionKind; at: number }> = [];
  const writer: TransitionWriter = {
    record: (ref, kind) => records.push({ ref, kind, at: clock.now() }),
    publish() {},
    publishCommitted() {},
    afterCommit: (fn) => fn(),
    // A writer under a steady load always has a batch on its way: it is never settled.
    settled: () => o.busyWriter ? new Promise<void>(() => {}) : Promise.resolve(),
    uncommitted: () => false,
    stop: () => Promise.resolve(),
  };
  const store: LifecycleStore = {
    writeTransitions: () => Promise.resolve({ applied: new Set(), events: new Set() }),
    loadInFlight: () => Promise.resolve(rows),
    loadOutbound: () => Promise.resolve(new Map()),
    loadUnfinishedJobs: () => Promise.resolve(o.unfinished ?? []),
    // The rows as the last commit left them: still in flight (their end not committed yet).
    findCommands: (ids) =>
      Promise.resolve(
        new Map(
          rows.filter((r) => ids.includes(r.command_id)).map((r) => [r.command_id, r as never]),
        ),
      ),
    claimSends: (ids) => Promise.resolve(new Map(ids.map((id) => [id, claims[id] ?? "claimed"]))),
  };
  const host = createDeviceHost({
    machines: hostedMachines(),
    link: createJetStreamLink({ publisher, names: topologyNames("test") }),
    store,
    writer,
    vendors,
    clock,
    log: silent,
    count() {},
    // Every device online unless the test gives the registry's view.
    presenceOf: (id) => o.presence ? o.presence.get(id) ?? { online: false } : { online: true },
    ...(o.unfinished
      ? {
        exclusivity: {
          of: (_vendor: string, method: string) => exclusivityOf(method),
          lastingMethods: LASTING_JOB_METHODS,
        },
      }
      : {}),
    ...(o.inspect ? { inspect: o.inspect } : {}),
  });
  /** What the writer would store for each recorded transition, read as at commit time. */
  const stored = () =>
    records.map((r) => {
      const s = r.ref.getPersistedSnapshot() as { value: string; context: Record<string, any> };
      return { id: r.ref.id, kind: r.kind, status: s.value, at: r.at, context: s.context };
    });
  return { clock, host, published, stored };
}

/** A command the API next door committed, as the host takes it. */
function dispatched(n: number, deadline_at: number) {
  const r = row(n, "ACCEPTED", deadline_at);
  return {
    command_id: r.command_id,
    ...SAMPLE_COMMAND,
    bid: r.bid!,
    timeout_seconds: 30,
    accepted_at: r.accepted_at,
    deadline_at,
    partition: 0,
    payload_enc: new Uint8Array([n]),
  };
}

function replyTo(command_id: string, received_at: number) {
  return {
    kind: "reply" as const,
    vendor: "dji",
    gateway: "DOCK1",
    channel: "services" as const,
    received_at,
    reply: { tid: command_id, bid: "b", method: "fileupload_start", data: { result: 0 } },
  };
}

test("each command in flight is a child actor of its device shard's actor, as the inspector sees", async () => {
  const events: InspectionEvent[] = [];
  const { host, stored } = start([], {}, { inspect: (e) => events.push(e) });
  const c = dispatched(1, T0 + 30_000);
  host.dispatch(c);
  await claimed();
  const announced = events.filter((e) => e.type === "@xstate.actor").map((e) =>
    e.actorRef as AnyActorRef
  );
  const device = announced.find((a) => a.id === "DOCK1");
  const command = announced.find((a) => a.id === c.command_id);
  assert.ok(device && command, "the inspector is told of both actors");
  assert.equal(command._parent, device, "the command actor is the device shard's child");
  assert.equal(device.getSnapshot().children[c.command_id], command, "in its snapshot's children");
  assert.equal(command.getSnapshot().value, "ACCEPTED");
  assert.equal(host.liveCommands(), 1);

  host.fact({ kind: "delivered", command_id: c.command_id, device_id: "DOCK1", at: T0 + 5 }, {
    ack() {},
    nak: () => assert.fail("nak"),
  });
  assert.equal(command.getSnapshot().value, "DELIVERED", "the child actor took the event");
  assert.ok(
    events.some((e) =>
      e.type === "@xstate.event" && e.actorRef === command && e.event.type === "bridge.delivered"
    ),
    "the inspector sees the command actor take it",
  );

  host.fact(replyTo(c.command_id, T0 + 50), { ack() {}, nak: () => assert.fail("nak") });
  assert.deepEqual(stored().map((s) => s.kind), ["delivered", "completed"]);
  assert.equal(stored()[1].status, "SUCCEEDED");
  assert.deepEqual(Object.keys(device.getSnapshot().children), [], "a finished command's is gone");
  assert.equal(command.getSnapshot().status, "done");
  host.stop();
});

test("an idle command is passivated to its snapshot and comes back as an actor to finish", async () => {
  const events: InspectionEvent[] = [];
  const { clock, host, stored } = start([], {}, { inspect: (e) => events.push(e) });
  const c = dispatched(1, T0 + 30_000);
  host.dispatch(c);
  await claimed();
  host.fact({ kind: "delivered", command_id: c.command_id, device_id: "DOCK1", at: T0 + 5 }, {
    ack() {},
    nak: () => assert.fail("nak"),
  });
  const actorsOf = (id: string) =>
    events.filter((e) => e.type === "@xstate.actor").map((e) => e.actorRef as AnyActorRef)
      .filter((a) => a.id === id);
  const [first] = actorsOf(c.command_id);
  const device = first._parent as AnyActorRef;

  // Idle past the threshold (2 s by default): seen once as stepped, stopped at the next look.
  clock.increment(2_000);
  assert.equal(host.liveCommands(), 1, "it took an event since the last look");
  clock.increment(2_000);
  assert.equal(host.liveCommands(), 0);
  assert.equal(first.getSnapshot().status, "stopped");
  assert.equal(device.getSnapshot().children[c.command_id], undefined);
  assert.deepEqual(host.size(), { devices: 1, commands: 1 }, "still hosted, as its snapshot");
  assert.equal(host.liveDevices(), 1, "its device stepped to passivate it");
  clock.increment(2_000);
  assert.equal(host.liveDevices(), 0, "then the idle device is kept as its snapshot too");
  assert.equal(device.getSnapshot().status, "stopped");

  host.fact(replyTo(c.command_id, T0 + 6_050), { ack() {}, nak: () => assert.fail("nak") });
  const again = actorsOf(c.command_id);
  assert.equal(again.length, 2, "a second actor for the command");
  const [, deviceAgain] = actorsOf("DOCK1");
  assert.ok(deviceAgain, "its device shard's actor started again from its snapshot");
  assert.equal(again[1]._parent, deviceAgain, "which spawned the command's actor again");
  const done = stored().at(-1)!;
  assert.deepEqual([done.kind, done.status], ["completed", "SUCCEEDED"]);
  assert.equal(done.context.delivered_at, T0 + 5, "its state came back from its snapshot");
  assert.deepEqual(host.size(), { devices: 1, commands: 0 });
  host.stop();
});

test("restored commands time out at their original deadlines, not at restore + timeout", async () => {
  const a = row(1, "DELIVERED", T0 + 2_000);
  const b = row(2, "ACCEPTED", T0 + 5_000);
  const { clock, host, published, stored } = start([a, b]);
  assert.equal(await host.restore(0), 2);
  assert.deepEqual(host.size(), { devices: 1, commands: 2 });
  assert.equal(host.liveCommands(), 0, "restored passivated: snapshots until an event comes");
  await claimed();
  // The undelivered command goes to the bridge again with its bid; the delivered one does not.
  assert.deepEqual(published.map((p) => [p.command_id, p.bid]), [[b.command_id, "bid-2"]]);

  clock.increment(1_999);
  assert.deepEqual(stored(), []);
  clock.increment(1);
  assert.deepEqual(
    stored().map((s) => [s.id, s.kind, s.status, s.at, s.context.completed_at]),
    [[a.command_id, "completed", "TIMED_OUT", T0 + 2_000, T0 + 2_000]],
  );
  assert.equal(stored()[0].context.delivered_at, T0 - 9_000, "restored from the row");
  assert.deepEqual(host.size(), { devices: 1, commands: 1 });

  clock.increment(3_000);
  assert.deepEqual(stored().map((s) => [s.id, s.status, s.context.completed_at]), [
    [a.command_id, "TIMED_OUT", T0 + 2_000],
    [b.command_id, "TIMED_OUT", T0 + 5_000],
  ]);
  assert.deepEqual(host.size(), { devices: 1, commands: 0 });
  host.stop();
});

test("a command restored after its deadline times out at once, completed at that deadline", async () => {
  const overdue = row(1, "ACCEPTED", T0 - 1_000);
  const { clock, host, stored } = start([overdue]);
  await host.restore(0);
  clock.increment(0);
  assert.deepEqual(
    stored().map((s) => [s.status, s.context.completed_at]),
    [["TIMED_OUT", T0 - 1_000]],
  );
  host.stop();
});

test("a restored snapshot keeps its state; its context comes from the row", async () => {
  // Stored as the transition writer stores it: the machine's state, no context.
  const delivered = row(1, "DELIVERED", T0 + 1_000);
  delivered.snapshot = { status: "active", value: "DELIVERED", children: {}, historyValue: {} };
  // Stored by an earlier version, context and all: the row's columns win.
  const older = row(2, "DELIVERED", T0 + 2_000);
  older.snapshot = JSON.parse(JSON.stringify({
    status: "active",
    value: "DELIVERED",
    context: { ...older, deadline_at: T0 + 60_000, delivered_at: T0 - 1 },
    children: {},
    historyValue: {},
  }));
  const { clock, host, stored } = start([delivered, older]);
  await host.restore(0);
  clock.increment(2_000);
  assert.deepEqual(
    stored().map((s) => [s.status, s.context.delivered_at, s.context.completed_at]),
    [["TIMED_OUT", T0 - 9_000, T0 + 1_000], ["TIMED_OUT", T0 - 9_000, T0 + 2_000]],
  );
  host.stop();
});

test("stop leaves no deadline armed", async () => {
  const { clock, host, stored } = start([row(1, "ACCEPTED", T0 + 1_000)]);
  await host.restore(0);
  host.stop();
  clock.increment(5_000);
  assert.deepEqual(stored(), []);
});

test("a dispatch pulled after a restore does not host its command a second time", async () => {
  const overdue = row(1, "ACCEPTED", T0 - 1_000);
  const { clock, host, published, stored } = start([overdue]);
  await host.restore(0);
  clock.increment(0);
  assert.deepEqual(stored().map((s) => s.status), ["TIMED_OUT"]);
  await claimed();
  const sentBefore = published.length;

  // Its dispatch waited in JetStream while no shard ran: a first delivery, not a redelivery.
  let acked = 0;
  const dispatch = {
    kind: "command",
    ...overdue,
    timeout_seconds: 30,
    payload_enc: "AQ==",
  };
  host.handle(
    {
      data: new TextEncoder().encode(JSON.stringify(dispatch)),
      subject: "test.shard.0.cmd.DOCK1",
      redelivered: false,
      ack: () => acked++,
      nak: () => assert.fail("nak"),
      term: () => assert.fail("term"),
    } as never,
    0,
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  clock.increment(60_000);

  assert.equal(acked, 1);
  assert.deepEqual(stored().map((s) => s.status), ["TIMED_OUT"], "no second lifecycle");
  assert.equal(published.length, sentBefore, "not sent to the bridge again");
  assert.deepEqual(host.size(), { devices: 1, commands: 0 });
  host.stop();
});

test("a command claimed for sending before is not sent again; the device's next command goes", async () => {
  // 1: claimed by the host before a crash (restored as sent); 2: claimed by another host since
  // (its claim is refused now); 3: no longer in flight (gone); 4: sent now.
  const restoredSent = { ...row(1, "ACCEPTED", T0 + 9_000), sent: true };
  delete restoredSent.payload_enc;
  const rows = [restoredSent, row(2, "ACCEPTED", T0 + 9_000), row(3, "ACCEPTED", T0 + 9_000)];
  rows.push(row(4, "ACCEPTED", T0 + 9_000));
  const { host, published } = start(rows, {
    [rows[1].command_id]: "sent",
    [rows[2].command_id]: "gone",
  });
  await host.restore(0);
  for (let i = 0; i < 4; i++) await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [rows[3].command_id]);
  assert.deepEqual(host.size(), { devices: 1, commands: 3 }, "the gone one is forgotten");
  host.stop();
});

test("a copy of a reply to a command that just finished is settled while the writer stays busy", async () => {
  const cmd = row(1, "DELIVERED", T0 + 30_000);
  const { host, stored } = start([cmd], {}, { busyWriter: true });
  await host.restore(0);
  const reply = {
    kind: "reply" as const,
    vendor: "dji",
    gateway: cmd.device_id,
    channel: "services" as const,
    received_at: T0,
    reply: { tid: cmd.command_id, bid: cmd.bid, method: cmd.command_type, data: { result: 0 } },
  };
  let first = 0;
  host.fact(reply, { ack: () => first++, nak() {} });
  assert.deepEqual(stored().map((s) => s.status), ["SUCCEEDED"]);
  // The broker hands the same reply over again before the SUCCEEDED row is committed.
  let copy = "waiting";
  host.fact(reply, { ack: () => copy = "acked", nak: () => copy = "nak" });
  await claimed(); // the lookup (a fake) and the commit it waits for
  assert.equal(copy, "acked");
  assert.equal(first, 1);
  host.stop();
});

test("a restored command for an offline gateway is sent when the registry says it came online", async () => {
  const presence = new Map<string, GatewayPresence>([["DOCK1", { online: false }]]);
  const waiting = row(1, "ACCEPTED", T0 + 9_000);
  const { clock, host, published, stored } = start([waiting], {}, { presence });
  await host.restore(0);
  await claimed();
  assert.equal(published.length, 0, "not published while the gateway is offline");
  presence.set("DOCK1", { online: true, last_seen_at: T0 + 10 });
  host.gatewayPresence("DOCK1", { online: true, last_seen_at: T0 + 10 });
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [waiting.command_id]);
  clock.increment(10_000);
  assert.deepEqual(stored().map((s) => s.context.failure_code), ["DEVICE_TIMEOUT"]);
  host.stop();
});

test("a restored command whose gateway stays offline ends DEVICE_OFFLINE at its deadline", async () => {
  const presence = new Map([["DOCK1", { online: false, last_seen_at: T0 - 120_000 }]]);
  const { clock, host, published, stored } = start([row(1, "ACCEPTED", T0 + 9_000)], {}, {
    presence,
  });
  await host.restore(0);
  clock.increment(9_000);
  assert.deepEqual(published, []);
  const [s] = stored();
  assert.equal(s.status, "TIMED_OUT");
  assert.equal(s.context.failure_code, "DEVICE_OFFLINE");
  assert.match(s.context.failure_reason, /last seen 2023-11-14T22:11:20\.000Z$/);
  host.stop();
});

/** A job whose command SUCCEEDED before the restart and whose end was not reported yet. */
function runningJob(deadline_at: number): UnfinishedJob {
  return {
    command_id: "0190b6c4-0000-7000-8000-0000000000aa",
    vendor: "dji",
    device_id: "DOCK1",
    command_type: "cover_open",
    status: "SUCCEEDED",
    deadline_at,
  };
}

test("after a restore a SUCCEEDED command's running job holds its class until its end is reported", async () => {
  const next = { ...row(1, "ACCEPTED", T0 + 20_000), command_type: "cover_close" };
  const classless = { ...row(2, "ACCEPTED", T0 + 20_000), command_type: "camera_aim" };
  const job = runningJob(T0 + 9_000);
  const { host, published } = start([next, classless], {}, { unfinished: [job] });
  await host.restore(0);
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [classless.command_id]);
  const delivered = { kind: "delivered" as const, device_id: "DOCK1", at: T0 };
  host.fact({ ...delivered, command_id: classless.command_id }, { ack() {}, nak() {} });
  await claimed();
  assert.equal(published.length, 1, "cover_close still waits for cover_open's job");
  host.jobFinished("DOCK1", job.command_id);
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [classless.command_id, next.command_id]);
  host.stop();
});

test("a running job whose end is never reported frees its class at its command's deadline", async () => {
  const next = { ...row(1, "ACCEPTED", T0 + 20_000), command_type: "device_reboot" };
  const { clock, host, published } = start([next], {}, { unfinished: [runningJob(T0 + 9_000)] });
  await host.restore(0);
  clock.increment(8_999);
  await claimed();
  assert.equal(published.length, 0);
  clock.increment(1);
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [next.command_id]);
  host.stop();
});

test("a device whose only news is a running job is restored, and not swept as idle", async () => {
  const { host } = start([], {}, { unfinished: [runningJob(T0 + 9_000)] });
  await host.restore(0);
  assert.equal(host.sweepIdle(), 0);
  assert.deepEqual(host.size(), { devices: 1, commands: 0 });
  host.stop();
});

test("a command sent before the restart whose job ended since holds nothing", async () => {
  // 1 was claimed for sending and its job's end is recorded (not among the unfinished jobs).
  const sentBefore = { ...row(1, "DELIVERED", T0 + 20_000), command_type: "cover_open" };
  const next = { ...row(2, "ACCEPTED", T0 + 20_000), command_type: "cover_close" };
  const { host, published } = start([sentBefore, next], {}, { unfinished: [] });
  await host.restore(0);
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [next.command_id]);
  host.stop();
});

test("a command sent before the restart whose job still runs holds its class", async () => {
  const sentBefore = { ...row(1, "DELIVERED", T0 + 20_000), command_type: "cover_open" };
  const next = { ...row(2, "ACCEPTED", T0 + 20_000), command_type: "cover_close" };
  const unfinished: UnfinishedJob = { ...runningJob(T0 + 20_000), status: "DELIVERED" };
  unfinished.command_id = sentBefore.command_id;
  const { host, published } = start([sentBefore, next], {}, { unfinished: [unfinished] });
  await host.restore(0);
  await claimed();
  assert.equal(published.length, 0);
  host.jobFinished("DOCK1", sentBefore.command_id);
  await claimed();
  assert.deepEqual(published.map((p) => p.command_id), [next.command_id]);
  host.stop();
});
