// Hosts the device-shard actors of the partitions this process owns: feeds them the JetStream
// messages of those partitions, gives the machines their real effects, and restores them.
//
// Commands are passivated (as Orleans and Akka passivate idle actors): a waiting command is only
// its persisted command-machine snapshot, which takes one event at a time through the machine
// (`command_step.ts`) without an actor living between events. Deadlines live in one schedule
// with one armed timer, so a restore creates no command actor and arms no per-command timer (nor
// meets statelyai/xstate#5331).
import { setImmediate } from "node:timers";
import { type Actor, createActor, type InspectionEvent } from "xstate";
import type { JsMsg } from "@nats-io/jetstream";
import type { AckedPublisher } from "../bus/acked_publisher.ts";
import {
  type CommandContext,
  type CommandEvent,
  type CommandInput,
  commandMachine,
  type PersistedCommandSnapshot,
  restingSnapshot,
  RESULT_FIELDS,
  statusOf,
  type StoredCommandSnapshot,
  withContext,
} from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
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
import { createCommandStep } from "./command_step.ts";
import { createBridgeSender } from "./bridge_sender.ts";
import { createCommandLookup } from "./command_lookup.ts";
import { Buffer } from "node:buffer";
import type { LocalBridge, LocalDispatch } from "../local_link.ts";
import { TERMINAL_STATUSES } from "../command/status.ts";
import { lifecycleEvent, unownedProblem } from "../command/lifecycle_event.ts";
import { readStreamMessage } from "../bus/stream_message.ts";

type DeviceActor = Actor<typeof deviceShardMachine>;

interface HostedDevice {
  actor: DeviceActor;
  partition: number;
}

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
        device?.actor.send({ type: "deadline.reached", command_id, at });
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
        devices.get(device_id)?.actor.send({ type: "job.deadline", command_id, at });
      } catch (err) {
        o.log.error("job deadline handling failed", { err, command_id });
      }
    },
  });
  // The ReplyFact being handled, for the unknown-reply path that needs the raw reply, and the
  // work the current message must wait for before it is acknowledged.
  let currentReply: ReplyFact | undefined;
  let holds: Promise<unknown>[] = [];
  // What the dispatch being hosted carries for the bridge (read by `startCommand`).
  let arriving: { bid: string; payload_enc: Uint8Array } | undefined;
  // Set by the command machine's `notifyFinished` while a command takes its event.
  let finished = false;

  const commandLogic = commandMachine.provide({
    actions: {
      record: ({ context }, { kind }) => {
        // "hosted" is the initial state the API already committed as the ACCEPTED row.
        if (kind === "hosted") return;
        // The entry's snapshot is set once the command has taken its event; the writer reads
        // it at commit time, after that.
        if (stepping) o.writer.record(stepping, kind, context);
      },
      reportProblem: ({ context }, { problem, detail }) => {
        o.count("problems");
        o.log.warn("reply problem", { problem, detail, command_id: context.command_id });
        // A problem changes no state: the status before the event is the status it reports.
        const status = statusOf(stepping!.snapshot);
        o.writer.publish(
          lifecycleEvent("problem", context, status, o.clock.now(), { problem, detail }),
        );
      },
      notifyFinished: () => {
        finished = true;
      },
    },
  });
  // The command taking an event now: what `record` hands the writer.
  let stepping: HostedCommand | undefined;

  const step = createCommandStep(commandLogic, { clock: o.clock, inspect: o.inspect });

  /** Has the command take `event` (its machine's actions run meanwhile) and keeps its next
   * persisted snapshot. Returns whether the command is finished. */
  function toCommand(c: HostedCommand, event: CommandEvent): boolean {
    const previous = stepping;
    stepping = c;
    finished = false;
    try {
      c.snapshot = step(c.id, c.snapshot, event);
      return finished;
    } finally {
      stepping = previous;
      finished = false;
    }
  }

  /** Stops hosting a command: no deadline, no payload, no snapshot kept. */
  function forget(command_id: string): void {
    commands.delete(command_id);
    deadlines.delete(command_id);
  }

  const deviceLogic = deviceShardMachine.provide({
    actions: {
      startCommand: (_, { command }) => {
        const c = new HostedCommand(
          command.command_id,
          restingSnapshot("ACCEPTED", command),
          arriving?.bid,
          arriving?.payload_enc,
        );
        commands.set(c.id, c);
        deadlines.set(c.id, command.deadline_at);
      },
      toCommand: ({ self }, { command_id, event }) => {
        const c = commands.get(command_id);
        if (!c) {
          o.log.error("no snapshot for a hosted command", { command_id });
          return;
        }
        if (toCommand(c, event)) {
          // Never published: its gateway was not online before the deadline.
          if (event.type === "deadline.reached" && event.device_offline) {
            o.count("commands_device_offline");
          }
          // Never published: the job of its class ran on its dock until its deadline.
          if (event.type === "deadline.reached" && event.held_by) {
            o.count("commands_held_timed_out");
            o.log.warn("a command held behind its class's running job reached its deadline", {
              command_id,
              device_id: c.snapshot.context.device_id,
              class: event.held_by.class,
              held_by: event.held_by.command_id,
            });
          }
          forget(command_id);
          // Queued: the device actor takes it right after the event it is processing.
          self.send({ type: "command.finished", command_id, status: statusOf(c.snapshot) });
        }
      },
      sendToBridge: (_, { command_id }) => sendToBridge(command_id),
      reportUnknownReply: (_, { reply }) => {
        holds.push(unknownReply(reply, currentReply));
      },
      reportHeld: ({ context }, { command_id, held_by }) => {
        o.count("commands_held_by_class");
        o.log.debug("command held behind its class's running job", {
          command_id,
          device_id: context.device_id,
          class: held_by.class,
          held_by: held_by.command_id,
        });
      },
      watchJob: ({ context }, { command_id, at }) => {
        jobDevices.set(command_id, context.device_id);
        jobDeadlines.set(command_id, at);
      },
      unwatchJob: (_, { command_id }) => {
        jobDevices.delete(command_id);
        jobDeadlines.delete(command_id);
      },
    },
  });

  function createDevice(device_id: string, partition: number, snapshot?: unknown): DeviceActor {
    const actor = createActor(deviceLogic, {
      id: `device:${device_id}`,
      clock: o.clock,
      input: { device_id, gateway: o.presenceOf(device_id) },
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      ...(o.inspect ? { inspect: o.inspect } : {}),
    });
    actor.start();
    devices.set(device_id, { actor, partition });
    return actor;
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
      devices.get(command.device_id)?.actor.send({
        type: "send.skipped",
        command_id: command.command_id,
      }),
    onGone: (command) => {
      if (!commands.has(command.command_id)) return;
      forget(command.command_id);
      devices.get(command.device_id)?.actor.send({
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

  // Dispatches of one event-loop turn share one Postgres read.
  let dispatchBatch: Arriving[] = [];
  function queueDispatch(a: Arriving) {
    if (commands.has(a.d.command_id) || o.writer.uncommitted(a.d.command_id)) {
      a.settle.ack(); // redelivery of a hosted command
      return;
    }
    dispatchBatch.push(a);
    if (dispatchBatch.length === 1) {
      setImmediate(() => {
        const batch = dispatchBatch;
        dispatchBatch = [];
        // One batch at a time: a later batch's read must not finish first and host its
        // commands ahead of earlier ones (FIFO per device).
        hosting = hosting.then(() => hostDispatches(batch)).catch((err) => {
          o.log.error("hosting dispatched commands failed", { err });
          for (const b of batch) b.settle.nak(1_000);
        });
      });
    }
  }
  let hosting: Promise<void> = Promise.resolve();

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
      const actor = hosted?.actor ?? createDevice(d.device_id, partition);
      arriving = { bid: d.bid, payload_enc };
      const exclusivity = o.exclusivity?.of(d.command_type);
      try {
        actor.send({
          type: "command.dispatched",
          command: toInput(d, intern),
          ...(exclusivity ? { exclusivity } : {}),
        });
      } finally {
        arriving = undefined;
      }
      // Hosting writes nothing: the committed ACCEPTED row is the command's initial state (a
      // restore starts a command without a snapshot from its row), so the ack can go now.
      settle.ack();
    }
  }

  function handleReply(msg: Settle, fact: ReplyFact) {
    if (fact.reply.tid !== undefined) o.beforeReply?.(fact.reply.tid);
    const hosted = devices.get(fact.gateway);
    const context = hosted?.actor.getSnapshot().context;
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
    currentReply = fact;
    holds = [];
    if (hosted) {
      hosted.actor.send(event);
    } else {
      holds.push(unknownReply(event, fact));
    }
    const waitFor = holds;
    currentReply = undefined;
    holds = [];
    const taken = o.replyTaken?.(fact.received_at);
    const done = () => {
      taken?.committed();
      msg.ack();
    };
    if (waitFor.length === 0) o.writer.afterCommit(done);
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
    devices.get(device_id)?.actor.send({ type: "bridge.delivered", command_id, at });
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
        const actor = createDevice(
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
        actor.send({ type: "commands.resume" });
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
      devices.get(device_id)?.actor.send({ type: "gateway.presence", ...presence });
    },

    jobFinished(device_id, command_id) {
      // A device with no actor runs no job this host knows of.
      devices.get(device_id)?.actor.send({ type: "job.finished", command_id });
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
        const context = d.actor.getSnapshot().context;
        for (const p of context.pending) forget(p.id);
        for (const job of Object.values(context.running)) {
          jobDevices.delete(job.command_id);
          jobDeadlines.delete(job.command_id);
        }
        d.actor.stop();
        devices.delete(id);
      }
    },

    sweepIdle() {
      let n = 0;
      for (const [id, d] of devices) {
        const context = d.actor.getSnapshot().context;
        // A running job is known only here: the device's next command must still wait for it.
        if (context.pending.length > 0 || Object.keys(context.running).length > 0) continue;
        d.actor.stop();
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
      for (const d of devices.values()) d.actor.stop();
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
