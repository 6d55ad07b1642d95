// Hosts the device shards of the partitions this process owns: feeds them the JetStream
// messages of those partitions, runs the effects their machines return, and restores them.
//
// Commands are passivated (as Orleans and Akka passivate idle actors): a waiting command is only
// its persisted command-machine snapshot, which takes one event at a time through the machine
// (`machine_step.ts`) without an actor living between events; a device shard is its snapshot
// too. A step returns the actions to run, and this host runs them by type and params. Deadlines
// live in one schedule with one armed timer, so a restore creates no command actor and arms no
// per-command timer (nor meets statelyai/xstate#5331). The parts: `device_inbox.ts` (the
// shard's inbox), `hosted_command.ts`, `dispatch_intake.ts`, `reply_triage.ts`,
// `command_restore.ts`, `bridge_sender.ts`.
import type { InspectionEvent } from "xstate";
import type { JsMsg } from "@nats-io/jetstream";
import { Buffer } from "node:buffer";
import type { Exclusivity, GatewayPresence } from "../../machines/device_shard_machine.ts";
import type { DeliveredFact, ReplyFact, ShardMessage } from "../bus/messages.ts";
import { readStreamMessage } from "../bus/stream_message.ts";
import type { Dispatch, Link } from "../link/link.ts";
import type { Logger } from "../log.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import type { Clock } from "../time.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";
import { createBridgeSender } from "./bridge_sender.ts";
import { restorePartition } from "./command_restore.ts";
import { createDeadlineSchedule } from "./deadline_schedule.ts";
import { createDeviceEffects } from "./device_effects.ts";
import { createDeviceInbox } from "./device_inbox.ts";
import { createDispatchIntake, NOTHING_TO_SETTLE, type Settle } from "./dispatch_intake.ts";
import { createCommandTaker, createInterner, type HostedCommand } from "./hosted_command.ts";
import { createReplyTriage } from "./reply_triage.ts";
import type { TransitionWriter } from "./transition_writer.ts";

export { NOTHING_TO_SETTLE, type Settle };

export interface DeviceHostOptions {
  /** What carries a claimed command to a bridge. */
  link: Pick<Link, "command">;
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

export interface DeviceHost {
  /** Restores every in-flight command of a partition (before its consumer starts);
   * `beforeStart` runs once they are read and before any of them is driven. */
  restore(partition: number, beforeStart?: () => Promise<unknown>): Promise<number>;
  handle(msg: JsMsg, partition: number): void;
  /** A fact from the bridge of this process; settled as a JetStream message would be. */
  fact(fact: DeliveredFact | ReplyFact, settle: Settle): void;
  /** A command the API of this process committed, for a partition hosted here. */
  dispatch(command: Dispatch): void;
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

export function createDeviceHost(o: DeviceHostOptions): DeviceHost {
  const intern = createInterner();
  /** Every hosted, unfinished command (the device shards' `pending`, by id). */
  const commands = new Map<string, HostedCommand>();
  const inbox = createDeviceInbox({
    clock: o.clock,
    inspect: o.inspect,
    presenceOf: o.presenceOf,
    run: (d, action, taken) => runDeviceAction(d, action, taken),
  });
  const { devices } = inbox;
  const toDevice = inbox.deliver;
  const toHostedDevice = inbox.deliverTo;
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
  const jobs = {
    watch(command_id: string, device_id: string, at: number) {
      jobDevices.set(command_id, device_id);
      jobDeadlines.set(command_id, at);
    },
    unwatch(command_id: string) {
      jobDevices.delete(command_id);
      jobDeadlines.delete(command_id);
    },
  };
  const toCommand = createCommandTaker(o);
  const intake = createDispatchIntake({ ...o, inbox, commands, intern });
  const triage = createReplyTriage({ ...o, inbox, commands, toCommand, intern });
  const runDeviceAction = createDeviceEffects({
    ...o,
    inbox,
    commands,
    deadlines,
    toCommand,
    forget,
    sender: { send: (command, partition) => sender.send(command, partition) },
    unknownReply: triage.unknownReply,
    jobs,
  });

  /** Stops hosting a command: no deadline, no payload, no snapshot kept. */
  function forget(command_id: string): void {
    commands.delete(command_id);
    deadlines.delete(command_id);
  }

  const sender = createBridgeSender({
    store: o.store,
    link: o.link,
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

  function handleDelivered(msg: Settle, command_id: string, device_id: string, at: number) {
    toHostedDevice(device_id, { type: "bridge.delivered", command_id, at });
    o.writer.afterCommit(() => msg.ack());
  }

  return {
    restore(partition, beforeStart) {
      return restorePartition(
        { ...o, inbox, intake, commands, deadlines, intern },
        partition,
        beforeStart,
      );
    },

    handle(msg, partition) {
      const m = readStreamMessage<ShardMessage>(msg, o.log, "shard message");
      if (m === undefined) return;
      try {
        if (m.kind === "command") {
          intake.queue({
            d: m,
            payload_enc: Buffer.from(m.payload_enc, "base64"),
            partition,
            settle: msg,
            check: msg.redelivered || m.recovered === true,
          });
        } else if (m.kind === "delivered") handleDelivered(msg, m.command_id, m.device_id, m.at);
        else if (m.kind === "reply") triage.handleReply(msg, m);
        else msg.term();
      } catch (err) {
        // A bug, not an expected outcome: keep the process alive, let JetStream redeliver.
        o.log.error("shard message failed", { err, subject: msg.subject });
        msg.nak(1_000);
      }
    },

    dispatch(command) {
      // Its outbox row is the record: nothing to acknowledge.
      intake.queue({
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
        } else triage.handleReply(settle, fact);
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
          jobs.unwatch(job.command_id);
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
      intake.stop();
      devices.clear();
      commands.clear();
    },
  };
}
