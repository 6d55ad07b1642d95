// Hosts the device shards of the partitions this process owns: feeds them the JetStream
// messages of those partitions, runs the effects their machines return, and restores them.
//
// Commands are passivated (as Orleans and Akka passivate idle actors): a waiting command is only
// its persisted command-machine snapshot, which takes one event at a time through the machine
// (`machine_step.ts`) without an actor living between events; a device shard is its snapshot
// too. A step returns the actions to run; this host runs them by type and params. Deadlines live in one schedule
// with one armed timer, so a restore creates no command actor and arms no per-command timer (nor
// meets statelyai/xstate#5331).
import { createGroupCommit } from "../store/group_commit.ts";
import type { InspectionEvent } from "xstate";
import type { JsMsg } from "@nats-io/jetstream";
import type { AckedPublisher } from "../bus/acked_publisher.ts";
import {
  type CommandContext,
  type CommandEvent,
  type CommandInput,
  commandMachine,
  type HeldBy,
  type PersistedCommandSnapshot,
  restingSnapshot,
  RESULT_FIELDS,
  statusOf,
  type StoredCommandSnapshot,
  type TransitionKind,
  withContext,
} from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  type DeviceShardEvent,
  deviceShardMachine,
  type Exclusivity,
  type GatewayPresence,
  matchReply,
  restoredDeviceSnapshot,
  type RestoredJob,
} from "../../machines/device_shard_machine.ts";
import {
  type CommandDispatch,
  type DeliveredFact,
  type ReplyFact,
  type ShardMessage,
} from "../bus/messages.ts";
import type { TopologyNames } from "../bus/subjects.ts";
import type { LifecycleCommand, LifecycleStore } from "../store/lifecycle_store.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../time.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";
import type { TransitionWriter } from "./transition_writer.ts";
import { createDeadlineSchedule } from "./deadline_schedule.ts";
import { createMachineStep } from "./machine_step.ts";
import { createBridgeSender } from "./bridge_sender.ts";
import { createCommandLookup } from "./command_lookup.ts";
import { Buffer } from "node:buffer";
import type { LocalBridge, LocalDispatch } from "../local_link.ts";
import { TERMINAL_STATUSES } from "../command/status.ts";
import { lifecycleEvent, unownedProblem } from "../command/lifecycle_event.ts";
import { readStreamMessage } from "../bus/stream_message.ts";

type DeviceSnapshot = ReturnType<typeof deviceShardMachine.transition>;

/** A device shard at rest: its machine's snapshot, between events. */
interface HostedDevice {
  id: string;
  snapshot: DeviceSnapshot;
  partition: number;
  /** While it takes an event: the events that came meanwhile (from its own actions), taken
   * next in order, as an actor's mailbox would. */
  inbox: Delivery[] | undefined;
}

/** An event for a device shard and what its actions need from the host's side: the payload a
 * dispatched command carries to the bridge, the reply as the vendor sent it. */
interface Delivery {
  event: DeviceShardEvent;
  sendable?: { bid: string; payload_enc: Uint8Array };
  reply?: ReplyFact;
}

/** The command machine's named actions, as a step returns them. */
type CommandAction =
  | { type: "record"; params: { kind: TransitionKind } }
  | { type: "reportProblem"; params: { problem: string; detail: string } }
  | { type: "notifyFinished" };

/** The device shard machine's named actions, as a step returns them. */
type DeviceAction =
  | { type: "startCommand"; params: { command: CommandInput } }
  | { type: "toCommand"; params: { command_id: string; event: CommandEvent } }
  | { type: "sendToBridge"; params: { command_id: string } }
  | { type: "reportUnknownReply"; params: { reply: DeviceReplyEvent } }
  | { type: "reportHeld"; params: { command_id: string; held_by: HeldBy } }
  | { type: "watchJob"; params: { command_id: string; at: number } }
  | { type: "unwatchJob"; params: { command_id: string } };

/** A hosted command at rest: its persisted snapshot (the only copy of its context), and until
 * it is handed to the bridge, what the bridge needs besides. The transition writer reads the
 * snapshot at commit time. A class, so that entries share their method and hold no closure. */
class HostedCommand {
  constructor(
    readonly id: string,
    public snapshot: PersistedCommandSnapshot,
    public bid: string | undefined,
    public payload_enc: Uint8Array | undefined,
  ) {}
  getPersistedSnapshot(): PersistedCommandSnapshot {
    return this.snapshot;
  }
}

export interface DeviceHostOptions {
  /** JetStream publishes (commands for a bridge in another process). */
  publisher: AckedPublisher;
  names: TopologyNames;
  store: LifecycleStore;
  writer: TransitionWriter;
  /** What a device reply means for its command. */
  vendor: Pick<VendorAdapter, "mapReply">;
  clock: Clock;
  log: Logger;
  /** With config.inspect: every actor reports to the Stately inspector. */
  inspect?: (event: InspectionEvent) => void;
  count(name: string): void;
  /** Whether a device's gateway is online now (the shard's device registry); its commands wait
   * while it is not. Asked when a device actor starts; `gatewayPresence` tells later changes. */
  presenceOf(device_id: string): GatewayPresence;
  /** Called with a reply's tid before the reply is handled (a fact held for it goes first). */
  beforeReply?(tid: string): void;
  /** The shard takes a reply the bridge received at `receivedAt`; `committed` is called once
   * its effect is committed (or it is given back to JetStream). */
  replyTaken?(receivedAt: number): { committed(): void };
  /** One job per class on a dock (issue 14 item 4): a command of an exclusivity class waits
   * while a job of its class runs on its device. Absent: every command goes in acceptance order
   * (DOWNLINK_HOLD_BY_CLASS=false). */
  exclusivity?: {
    /** The vendor's class of a method, if any. */
    of(method: string): Exclusivity | undefined;
    /** The methods whose job may run on after its command finished (a restore looks for them). */
    lastingMethods: readonly string[];
  };
}

/** How a fact's source learns it was handled: a JetStream message, or the bridge next door. */
export type Settle = Pick<JsMsg, "ack" | "nak">;

export interface DeviceHost {
  /** Restores every in-flight command of a partition (before its consumer starts);
   * `beforeStart` runs once they are read and before any of them is driven. */
  restore(partition: number, beforeStart?: () => Promise<unknown>): Promise<number>;
  handle(msg: JsMsg, partition: number): void;
  /** Commands go to this bridge directly from now on (undefined: through JetStream). */
  connectBridge(bridge: LocalBridge | undefined): void;
  /** A fact from the bridge of this process; settled as a JetStream message would be. */
  fact(fact: DeliveredFact | ReplyFact, settle: Settle): void;
  /** A command the API of this process committed, for a partition hosted here. */
  dispatch(command: LocalDispatch): void;
  /** The device's gateway came online or went offline: its waiting commands go, or wait. */
  gatewayPresence(device_id: string, presence: GatewayPresence): void;
  /** The job of a command of the device reported its end (a terminal progress, committed): the
   * next command of its class may go. */
  jobFinished(device_id: string, command_id: string): void;
  drop(partition: number): void;
  /** Stops device actors with nothing pending and no job running (they are cheap to
   * recreate). */
  sweepIdle(): number;
  /** Number of hosted device actors and pending commands (for tests and metrics). */
  size(): { devices: number; commands: number };
  stop(): void;
}

/** A command on its way to being hosted, from JetStream or from the API next door. */
interface Arriving {
  d: Omit<CommandDispatch, "kind" | "payload_enc" | "recovered">;
  payload_enc: Uint8Array;
  partition: number;
  settle: Settle;
  /** May have been hosted or finished before (a redelivery, an outbox pass): the row decides. */
  check: boolean;
}

/** For what needs no acknowledgement: its commit (or its outbox row) is its record. */
export const NOTHING_TO_SETTLE: Settle = { ack() {}, nak() {} };

export function createDeviceHost(o: DeviceHostOptions): DeviceHost {
  const intern = createInterner();
  const devices = new Map<string, HostedDevice>();
  /** Every hosted, unfinished command (the device actors' `pending`, by id). */
  const commands = new Map<string, HostedCommand>();
  const deadlines = createDeadlineSchedule<string>({
    clock: o.clock,
    onDue: (command_id, at) => {
      const c = commands.get(command_id);
      const device = c && devices.get(c.snapshot.context.device_id);
      try {
        if (device) toDevice(device, { event: { type: "deadline.reached", command_id, at } });
      } catch (err) {
        o.log.error("deadline handling failed", { err, command_id });
      }
    },
  });
  // The running jobs' deadlines (a job may outlive its command: SUCCEEDED, its end reported later
  // on events), by command id, with the device each runs on.
  const jobDevices = new Map<string, string>();
  const jobDeadlines = createDeadlineSchedule<string>({
    clock: o.clock,
    onDue: (command_id, at) => {
      const device_id = jobDevices.get(command_id);
      jobDevices.delete(command_id);
      if (device_id === undefined) return;
      o.log.info("a job's class is free at its command's deadline, its end never reported", {
        command_id,
        device_id,
      });
      try {
        toHostedDevice(device_id, { type: "job.deadline", command_id, at });
      } catch (err) {
        o.log.error("job deadline handling failed", { err, command_id });
      }
    },
  });
  const commandStep = createMachineStep(commandMachine, { clock: o.clock, inspect: o.inspect });
  const deviceStep = createMachineStep(deviceShardMachine, {
    clock: o.clock,
    inspect: o.inspect,
  });

  /** Has the command take `event`, keeps its next persisted snapshot and runs the actions the
   * step returned. Returns whether the command is finished (it needs its device no more). */
  function toCommand(c: HostedCommand, event: CommandEvent): boolean {
    const before = c.snapshot;
    const [next, actions] = commandStep.step(c.id, commandStep.restore(before), event);
    // Kept before the actions run: the writer reads it at commit time.
    c.snapshot = commandMachine.getPersistedSnapshot(next) as unknown as PersistedCommandSnapshot;
    let finished = false;
    for (const action of actions as CommandAction[]) {
      switch (action.type) {
        case "record":
          o.writer.record(c, action.params.kind, c.snapshot.context);
          break;
        case "reportProblem": {
          const { problem, detail } = action.params;
          o.count("problems");
          o.log.warn("reply problem", { problem, detail, command_id: c.id });
          // A problem changes no state: the status before the event is the status it reports.
          o.writer.publish(
            lifecycleEvent("problem", c.snapshot.context, statusOf(before), o.clock.now(), {
              problem,
              detail,
            }),
          );
          break;
        }
        case "notifyFinished":
          finished = true;
          break;
      }
    }
    return finished;
  }

  /** Stops hosting a command: no deadline, no payload, no snapshot kept. */
  function forget(command_id: string): void {
    commands.delete(command_id);
    deadlines.delete(command_id);
  }

  /** Has the device shard take an event, then the events its own actions gave it meanwhile,
   * running each step's actions in order. Returns the lookups of replies it hosts no command
   * for (what the reply's acknowledgement waits for). */
  function toDevice(d: HostedDevice, delivery: Delivery): Promise<unknown>[] | undefined {
    if (d.inbox) {
      d.inbox.push(delivery);
      return undefined;
    }
    const inbox = d.inbox = [delivery];
    let holds: Promise<unknown>[] | undefined;
    try {
      for (let i = 0; i < inbox.length; i++) {
        const taken = inbox[i];
        const [next, actions] = deviceStep.step(d.id, d.snapshot, taken.event);
        d.snapshot = next;
        for (const action of actions) {
          const hold = runDeviceAction(d, action as DeviceAction, taken);
          if (hold) (holds ??= []).push(hold);
        }
      }
    } finally {
      d.inbox = undefined;
    }
    return holds;
  }

  function runDeviceAction(
    d: HostedDevice,
    action: DeviceAction,
    taken: Delivery,
  ): Promise<void> | undefined {
    switch (action.type) {
      case "startCommand": {
        const { command } = action.params;
        const c = new HostedCommand(
          command.command_id,
          restingSnapshot("ACCEPTED", command),
          taken.sendable?.bid,
          taken.sendable?.payload_enc,
        );
        commands.set(c.id, c);
        deadlines.set(c.id, command.deadline_at);
        return;
      }
      case "toCommand":
        commandTakes(d, action.params.command_id, action.params.event);
        return;
      case "sendToBridge":
        sendToBridge(action.params.command_id);
        return;
      case "reportUnknownReply":
        return unknownReply(action.params.reply, taken.reply);
      case "reportHeld": {
        const { command_id, held_by } = action.params;
        o.count("commands_held_by_class");
        o.log.debug("command held behind its class's running job", {
          command_id,
          device_id: d.id,
          class: held_by.class,
          held_by: held_by.command_id,
        });
        return;
      }
      case "watchJob":
        jobDevices.set(action.params.command_id, d.id);
        jobDeadlines.set(action.params.command_id, action.params.at);
        return;
      case "unwatchJob":
        jobDevices.delete(action.params.command_id);
        jobDeadlines.delete(action.params.command_id);
        return;
    }
  }

  function commandTakes(d: HostedDevice, command_id: string, event: CommandEvent): void {
    const c = commands.get(command_id);
    if (!c) {
      o.log.error("no snapshot for a hosted command", { command_id });
      return;
    }
    if (!toCommand(c, event)) return;
    // Never published: its gateway was not online before the deadline.
    if (event.type === "deadline.reached" && event.device_offline) {
      o.count("commands_device_offline");
    }
    // Never published: the job of its class ran on its dock until its deadline.
    if (event.type === "deadline.reached" && event.held_by) {
      o.count("commands_held_timed_out");
      o.log.warn("a command held behind its class's running job reached its deadline", {
        command_id,
        device_id: d.id,
        class: event.held_by.class,
        held_by: event.held_by.command_id,
      });
    }
    forget(command_id);
    // Taken by the device right after the event it is taking.
    toDevice(d, { event: { type: "command.finished", command_id, status: statusOf(c.snapshot) } });
  }

  /** An event for the device's shard, if it is hosted here. */
  function toHostedDevice(device_id: string, event: DeviceShardEvent): void {
    const d = devices.get(device_id);
    if (d) toDevice(d, { event });
  }

  function createDevice(device_id: string, partition: number, restored?: unknown): HostedDevice {
    const d: HostedDevice = {
      id: device_id,
      snapshot: restored
        ? deviceStep.restore(restored)
        : deviceStep.initial({ device_id, gateway: o.presenceOf(device_id) }),
      partition,
      inbox: undefined,
    };
    devices.set(device_id, d);
    return d;
  }
  const lookup = createCommandLookup(o.store);
  const sender = createBridgeSender({
    store: o.store,
    publisher: o.publisher,
    names: o.names,
    clock: o.clock,
    log: o.log,
    count: o.count,
    onSkipped: (command) =>
      toHostedDevice(command.device_id, { type: "send.skipped", command_id: command.command_id }),
    onGone: (command) => {
      if (!commands.has(command.command_id)) return;
      forget(command.command_id);
      toHostedDevice(command.device_id, {
        type: "command.finished",
        command_id: command.command_id,
      });
    },
  });

  function sendToBridge(command_id: string): void {
    const c = commands.get(command_id);
    if (!c?.bid || !c.payload_enc) {
      o.log.error("no payload to send for command", { command_id });
      return;
    }
    const ctx = c.snapshot.context;
    const partition = devices.get(ctx.device_id)!.partition;
    const command = {
      command_id,
      device_id: ctx.device_id,
      method: ctx.command_type,
      channel: ctx.channel,
      bid: c.bid,
      deadline_at: ctx.deadline_at,
      payload_enc: c.payload_enc,
    };
    // The payload is kept only until it is handed over.
    c.bid = undefined;
    c.payload_enc = undefined;
    sender.send(command, partition);
  }

  // Dispatches of one event-loop turn share one Postgres read. One batch at a time: a later
  // batch's read must not finish first and host its commands ahead of earlier ones (FIFO per
  // device); what arrives meanwhile goes in the next batch.
  const dispatches = createGroupCommit<Arriving>((batch) =>
    hostDispatches(batch).catch((err) => {
      o.log.error("hosting dispatched commands failed", { err });
      for (const b of batch) b.settle.nak(1_000);
    })
  );
  function queueDispatch(a: Arriving) {
    if (commands.has(a.d.command_id) || o.writer.uncommitted(a.d.command_id)) {
      a.settle.ack(); // redelivery of a hosted command
      return;
    }
    dispatches.add(a);
  }

  // Commands restored as ACCEPTED whose dispatch may still be waiting in JetStream: that
  // first-time dispatch must not host them a second time.
  const restoredUnsent = new Set<string>();
  let forgetRestored: unknown;

  async function hostDispatches(batch: Arriving[]): Promise<void> {
    // A first delivery carries all the shard needs (bid, sealed payload): no Postgres read.
    // Only a redelivered dispatch (its first delivery's ack was lost) or one an outbox pass
    // recovered may belong to a command that has finished since: for those, the row decides.
    const redelivered = batch.filter((b) => b.check).map((b) => b.d.command_id);
    let rows: Map<string, { status: string }> | undefined;
    if (redelivered.length > 0) {
      try {
        rows = await o.store.loadOutbound(redelivered);
      } catch (err) {
        o.log.error("could not load dispatched commands, will retry", { err });
        for (const b of batch) b.settle.nak(1_000);
        return;
      }
    }
    for (const { d, payload_enc, partition, settle, check } of batch) {
      const hosted = devices.get(d.device_id);
      if (restoredUnsent.delete(d.command_id)) {
        // Restored from its row before its dispatch was pulled: hosted (or finished) already.
        settle.ack();
        continue;
      }
      if (check) {
        const row = rows!.get(d.command_id);
        if (!row || row.status !== "ACCEPTED") {
          // Finished already, or restored from Postgres and hosted from there.
          if (!row) o.log.warn("dispatch for a command with no row", { command_id: d.command_id });
          settle.ack();
          continue;
        }
      }
      // Hosted, or finished here with its commit still on the way (its row reads as in flight
      // until then): hosting it again would drive it a second time.
      if (commands.has(d.command_id) || o.writer.uncommitted(d.command_id)) {
        settle.ack();
        continue;
      }
      const device = hosted ?? createDevice(d.device_id, partition);
      const exclusivity = o.exclusivity?.of(d.command_type);
      toDevice(device, {
        event: {
          type: "command.dispatched",
          command: toInput(d, intern),
          ...(exclusivity ? { exclusivity } : {}),
        },
        sendable: { bid: d.bid, payload_enc },
      });
      // Hosting writes nothing: the committed ACCEPTED row is the command's initial state (a
      // restore starts a command without a snapshot from its row), so the ack can go now.
      settle.ack();
    }
  }

  function handleReply(msg: Settle, fact: ReplyFact) {
    if (fact.reply.tid !== undefined) o.beforeReply?.(fact.reply.tid);
    const hosted = devices.get(fact.gateway);
    const context = hosted?.snapshot.context;
    const match = context
      ? matchReply(context, {
        tid: fact.reply.tid,
        method: fact.reply.method,
        channel: fact.channel,
      })
      : undefined;
    const method = match ? context!.pending.find((p) => p.id === match)!.method : undefined;
    const event: DeviceReplyEvent = {
      type: "device.reply",
      gateway: fact.gateway,
      channel: fact.channel,
      tid: fact.reply.tid,
      method: fact.reply.method,
      received_at: fact.received_at,
      outcome: o.vendor.mapReply(method ?? fact.reply.method ?? "", fact.reply),
    };
    const waitFor = hosted ? toDevice(hosted, { event, reply: fact }) : [unknownReply(event, fact)];
    const taken = o.replyTaken?.(fact.received_at);
    const done = () => {
      taken?.committed();
      msg.ack();
    };
    if (waitFor === undefined) o.writer.afterCommit(done);
    else {
      Promise.all(waitFor).then(
        () => o.writer.afterCommit(done),
        (err) => {
          taken?.committed();
          o.log.error("reply lookup failed; JetStream will redeliver it", { err });
          msg.nak(1_000);
        },
      );
    }
  }

  /** A reply no hosted command took: a late reply to a TIMED_OUT command, a reply to a command
   * that already finished, one from another device's gateway, or a tid nobody knows. */
  async function unknownReply(event: DeviceReplyEvent, fact: ReplyFact | undefined): Promise<void> {
    const now = o.clock.now();
    const tid = event.tid;
    // A lookup failure rejects: the reply's message is not acked and JetStream redelivers it.
    let row = tid ? await lookup.find(tid) : undefined;
    if (row && !TERMINAL_STATUSES.has(row.status) && tid && !commands.has(tid)) {
      // It finished here a moment ago and the commit is on its way (a reply racing the
      // deadline, a copy of the reply): read the row again once what is recorded now is
      // committed. Not writer.settled(): under a steady load the writer is never idle.
      await new Promise<void>((resolve) => o.writer.afterCommit(resolve));
      row = await lookup.find(tid);
    }
    if (!row) {
      o.count("unknown_replies");
      o.log.warn("reply with an unknown tid", {
        tid,
        gateway: event.gateway,
        method: event.method,
      });
      o.writer.publish(unownedProblem(now, "UNKNOWN_TID", `no command has tid ${tid ?? "(none)"}`, {
        device_id: event.gateway,
        ...(tid ? { command_id: tid } : {}),
      }));
      return;
    }
    if (row.device_id !== event.gateway) {
      o.count("foreign_replies");
      const detail = `reply from gateway ${event.gateway} for a command of device ${row.device_id}`;
      o.log.warn("reply from another gateway", { command_id: row.command_id, detail });
      o.writer.publish(lifecycleEvent("problem", row, row.status, now, {
        problem: "FOREIGN_GATEWAY_REPLY",
        detail,
      }));
      return;
    }
    if (row.status === "TIMED_OUT" && row.snapshot && fact) {
      // Late reply: the command machine itself keeps it (TIMED_OUT takes device.reply).
      const snapshot = withContext(row.snapshot as StoredCommandSnapshot, contextOf(row, intern));
      const c = new HostedCommand(row.command_id, snapshot, undefined, undefined);
      toCommand(c, {
        type: "device.reply",
        gateway: event.gateway,
        channel: event.channel,
        received_at: event.received_at,
        outcome: o.vendor.mapReply(row.command_type, fact.reply),
      });
      return;
    }
    o.count("stray_replies");
    const detail = TERMINAL_STATUSES.has(row.status)
      ? `reply for a command already ${row.status}; ignored`
      : `reply for a command this shard does not host (status ${row.status}); ignored`;
    o.log.warn("reply for a command not in flight here", { command_id: row.command_id, detail });
    o.writer.publish(
      lifecycleEvent("problem", row, row.status, now, { problem: "REPLY_NOT_EXPECTED", detail }),
    );
  }

  function handleDelivered(msg: Settle, command_id: string, device_id: string, at: number) {
    toHostedDevice(device_id, { type: "bridge.delivered", command_id, at });
    o.writer.afterCommit(() => msg.ack());
  }

  return {
    async restore(partition, beforeStart) {
      const rows = await o.store.loadInFlight([partition]);
      // The jobs not known to have ended: the in-flight commands' (sent, a job may run) and the
      // SUCCEEDED commands' whose end has not been reported (their job runs on).
      const unfinished = o.exclusivity
        ? await o.store.loadUnfinishedJobs(
          partition,
          o.exclusivity.lastingMethods,
          o.clock.now(),
        )
        : [];
      await beforeStart?.();
      const unfinishedIds = new Set(unfinished.map((j) => j.command_id));
      const jobsByDevice = new Map<string, RestoredJob[]>();
      for (const j of unfinished) {
        const kind = j.status === "SUCCEEDED" ? o.exclusivity?.of(j.command_type) : undefined;
        if (!kind) continue;
        let list = jobsByDevice.get(j.device_id);
        if (!list) jobsByDevice.set(j.device_id, list = []);
        list.push({ command_id: j.command_id, deadline_at: j.deadline_at, class: kind.class });
      }
      // O(n): one pass over the rows keeps each command's snapshot and deadline; one device
      // actor per device; no command actor and no per-command timer.
      const byDevice = new Map<string, HostedCommand[]>();
      const claimed = new Set<string>();
      for (const r of rows) {
        if (r.sent) claimed.add(r.command_id);
        const stored = r.snapshot as StoredCommandSnapshot | undefined;
        const context = contextOf(r, intern);
        const snapshot = stored
          ? withContext(stored, context)
          // A command accepted but never moved has no snapshot yet: start it from its row.
          : restingSnapshot(r.status === "DELIVERED" ? "DELIVERED" : "ACCEPTED", context);
        const accepted = snapshot.value === "ACCEPTED" && r.payload_enc !== undefined;
        const c = new HostedCommand(
          r.command_id,
          snapshot,
          accepted ? r.bid : undefined,
          accepted ? r.payload_enc : undefined,
        );
        commands.set(c.id, c);
        if (accepted) restoredUnsent.add(c.id);
        // The original absolute deadline: a command overdue already times out at once.
        deadlines.set(c.id, snapshot.context.deadline_at);
        let list = byDevice.get(r.device_id);
        if (!list) byDevice.set(r.device_id, list = []);
        list.push(c);
      }
      // A dispatch still waiting in JetStream is pulled right after the restore; past this,
      // none can be left, and the ids need not be kept.
      o.clock.clearTimeout(forgetRestored);
      forgetRestored = o.clock.setTimeout(() => restoredUnsent.clear(), 10 * 60_000);
      for (const device_id of new Set([...byDevice.keys(), ...jobsByDevice.keys()])) {
        const list = byDevice.get(device_id) ?? [];
        const device = createDevice(
          device_id,
          partition,
          restoredDeviceSnapshot(
            device_id,
            list.map((c) => {
              const exclusivity = o.exclusivity?.of(c.snapshot.context.command_type);
              return {
                snapshot: c.snapshot,
                sent: claimed.has(c.id),
                ...(exclusivity
                  ? {
                    exclusivity,
                    // A job that reports progress ended when it said so (the restore found no
                    // unfinished job of the command); one that does not, at its reply.
                    job_finished: exclusivity.progress && !unfinishedIds.has(c.id),
                  }
                  : {}),
              };
            }),
            o.presenceOf(device_id),
            jobsByDevice.get(device_id) ?? [],
          ),
        );
        toDevice(device, { event: { type: "commands.resume" } });
      }
      return rows.length;
    },

    handle(msg, partition) {
      const m = readStreamMessage<ShardMessage>(msg, o.log, "shard message");
      if (m === undefined) return;
      try {
        if (m.kind === "command") {
          queueDispatch({
            d: m,
            payload_enc: Buffer.from(m.payload_enc, "base64"),
            partition,
            settle: msg,
            check: msg.redelivered || m.recovered === true,
          });
        } else if (m.kind === "delivered") handleDelivered(msg, m.command_id, m.device_id, m.at);
        else if (m.kind === "reply") handleReply(msg, m);
        else msg.term();
      } catch (err) {
        // A bug, not an expected outcome: keep the process alive, let JetStream redeliver.
        o.log.error("shard message failed", { err, subject: msg.subject });
        msg.nak(1_000);
      }
    },

    connectBridge(bridge) {
      sender.connect(bridge);
    },

    dispatch(command) {
      // Its outbox row is the record: nothing to acknowledge.
      queueDispatch({
        d: command,
        payload_enc: command.payload_enc,
        partition: command.partition,
        settle: NOTHING_TO_SETTLE,
        check: false,
      });
    },

    gatewayPresence(device_id, presence) {
      // A device with no actor has nothing waiting: its next actor asks presenceOf.
      toHostedDevice(device_id, { type: "gateway.presence", ...presence });
    },

    jobFinished(device_id, command_id) {
      // A device with no actor runs no job this host knows of.
      toHostedDevice(device_id, { type: "job.finished", command_id });
    },

    fact(fact, settle) {
      try {
        if (fact.kind === "delivered") {
          handleDelivered(settle, fact.command_id, fact.device_id, fact.at);
        } else handleReply(settle, fact);
      } catch (err) {
        o.log.error("shard fact failed", { err, kind: fact.kind });
        settle.nak(1_000);
      }
    },

    drop(partition) {
      for (const [id, d] of devices) {
        if (d.partition !== partition) continue;
        const context = d.snapshot.context;
        for (const p of context.pending) forget(p.id);
        for (const job of Object.values(context.running)) {
          jobDevices.delete(job.command_id);
          jobDeadlines.delete(job.command_id);
        }
        devices.delete(id);
      }
    },

    sweepIdle() {
      let n = 0;
      for (const [id, d] of devices) {
        const context = d.snapshot.context;
        // A running job is known only here: the device's next command must still wait for it.
        if (context.pending.length > 0 || Object.keys(context.running).length > 0) continue;
        devices.delete(id);
        n++;
      }
      return n;
    },

    size() {
      return { devices: devices.size, commands: commands.size };
    },

    stop() {
      deadlines.clear();
      jobDeadlines.clear();
      jobDevices.clear();
      o.clock.clearTimeout(forgetRestored);
      restoredUnsent.clear();
      devices.clear();
      commands.clear();
    },
  };
}

/** One copy of each string that repeats across commands (tenant, client, vendor, type, channel,
 * device): every parsed message and row brings its own copies, ~150 B per command in all. */
function createInterner(): (s: string) => string {
  const table = new Map<string, string>();
  return (s) => {
    const known = table.get(s);
    if (known !== undefined) return known;
    table.set(s, s);
    return s;
  };
}

function toInput(d: CommandInput, intern: (s: string) => string): CommandInput {
  return {
    command_id: d.command_id,
    tenant_id: intern(d.tenant_id),
    client_id: intern(d.client_id),
    vendor: intern(d.vendor),
    device_id: intern(d.device_id),
    command_type: intern(d.command_type),
    channel: intern(d.channel) as CommandInput["channel"],
    accepted_at: d.accepted_at,
    deadline_at: d.deadline_at,
  };
}

/** A command's machine context rebuilt from its row: the stored snapshot holds none. */
function contextOf(r: LifecycleCommand, intern: (s: string) => string): CommandContext {
  const context: Partial<CommandContext> = toInput(r, intern);
  for (const k of RESULT_FIELDS) if (r[k] !== undefined) context[k] = r[k] as never;
  return context as CommandContext;
}
