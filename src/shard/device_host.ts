// Hosts the device shards of the partitions this process owns: feeds them the JetStream
// messages of those partitions, runs the effects their machines return, and restores them.
//
// Each hosted device shard is a live XState actor, and each of its commands in flight a child
// actor it spawned. Commands are passivated (as Orleans deactivates an idle grain): a command
// actor that took no event for `passivateAfterMs` is stopped by its device and the command kept
// as its persisted snapshot; the next event for it has its device spawn it from that snapshot
// again. A device actor none of whose commands is live, idle as long, is stopped too and kept as
// its persisted snapshot until its next event. A restore hosts every command passivated, so it
// creates one actor per device and none per command. A step returns the actions to run
// (`actor_step.ts`), and this host runs them by type and params. Deadlines live in one schedule
// with one armed timer, so no command arms a timer of its own (nor meets statelyai/xstate#5331).
// The parts: `device_inbox.ts` (the shard's inbox), `hosted_command.ts`, `dispatch_intake.ts`,
// `reply_triage.ts`, `command_restore.ts`, `bridge_sender.ts`, `passivation.ts`,
// `job_deadlines.ts`.
import type { InspectionEvent } from "xstate";
import type { JsMsg } from "@nats-io/jetstream";
import { Buffer } from "node:buffer";
import type { Exclusivity, GatewayPresence } from "../../machines/device_shard_machine.ts";
import type { DeliveredFact, ReplyFact, ShardMessage } from "../bus/messages.ts";
import { readStreamMessage } from "../bus/stream_message.ts";
import type { Dispatch, Link } from "../link/link.ts";
import type { Logger } from "../runtime/log.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import type { Clock } from "../async/time.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import { createBridgeSender } from "./bridge_sender.ts";
import { restorePartition } from "./command_restore.ts";
import { createDeadlineSchedule } from "./deadline_schedule.ts";
import { createDeviceEffects } from "./device_effects.ts";
import { createDeviceInbox } from "./device_inbox.ts";
import { createJobDeadlines } from "./job_deadlines.ts";
import { createPassivation } from "./passivation.ts";
import type { HostedMachines } from "./actor_step.ts";
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
  /** What a device reply means for its command: its vendor's adapter says. */
  vendors: Pick<VendorRegistry, "of">;
  /** The device shard and command machines, provided by the composition root
   * (`hostedMachines()`): a pair for this host alone. */
  machines: HostedMachines;
  clock: Clock;
  log: Logger;
  /** With config.inspect: every actor reports to the Stately inspector. */
  inspect?: (event: InspectionEvent) => void;
  count(name: string): void;
  /** Whether a device's gateway is online now (the shard's device registry); its commands wait
   * while it is not. Asked when a device actor starts; `gatewayPresence` tells later changes. */
  presenceOf(device_id: string): GatewayPresence;
  /** A command actor that took no event for this long (ms) is stopped and kept as its snapshot
   * until its next event (default 2,000; 0: never). */
  passivateAfterMs?: number;
  /** Called with a reply's tid before the reply is handled (a fact held for it goes first). */
  beforeReply?(tid: string): void;
  /** The shard takes a reply the bridge received at `receivedAt`; `committed` is called once
   * its effect is committed (or it is given back to JetStream). */
  replyTaken?(receivedAt: number): { committed(): void };
  /** One job per class on a dock (issue 14 item 4): a command of an exclusivity class waits
   * while a job of its class runs on its device. Absent: every command goes in acceptance order
   * (DOWNLINK_HOLD_BY_CLASS=false). */
  exclusivity?: {
    /** The class of a command of `vendor` of type `method`, if any. */
    of(vendor: string, method: string): Exclusivity | undefined;
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
  /** Stops the command actors that took no event since the previous call, each kept as its
   * snapshot, then the device actors with no live command that took none either (the host calls
   * it every `passivateAfterMs` while actors are live); returns how many command actors it
   * stopped, and how many command and device actors stay live. */
  passivateIdle(): { stopped: number; live: number; devicesLive: number };
  /** Number of hosted device actors and pending commands (for tests and metrics). */
  size(): { devices: number; commands: number };
  /** How many hosted commands are live actors now (the others are passivated). */
  liveCommands(): number;
  /** How many hosted device shards are live actors now (the others are passivated). */
  liveDevices(): number;
  stop(): void;
}

export function createDeviceHost(o: DeviceHostOptions): DeviceHost {
  const intern = createInterner();
  /** Every hosted, unfinished command (the device shards' `pending`, by id). */
  const commands = new Map<string, HostedCommand>();
  const inbox = createDeviceInbox({
    machines: o.machines,
    clock: o.clock,
    inspect: o.inspect,
    presenceOf: o.presenceOf,
    awake: () => passivation.arm(),
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
  const jobs = createJobDeadlines({
    clock: o.clock,
    log: o.log,
    onDue: (device_id, command_id, at) =>
      toHostedDevice(device_id, { type: "job.deadline", command_id, at }),
  });
  const toCommand = createCommandTaker(o);
  const intake = createDispatchIntake({ ...o, inbox, commands, intern });
  const triage = createReplyTriage({ ...o, inbox, commands, toCommand, intern });
  const passivation = createPassivation({
    clock: o.clock,
    afterMs: o.passivateAfterMs ?? 2_000,
    inbox,
    commands,
  });

  const runDeviceAction = createDeviceEffects({
    ...o,
    awake: passivation.arm,
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
      for (const d of devices.values()) {
        if (d.partition !== partition) continue;
        const context = d.snapshot.context;
        for (const p of context.pending) forget(p.id);
        for (const job of Object.values(context.running)) {
          jobs.unwatch(job.command_id);
        }
        inbox.remove(d);
      }
    },

    sweepIdle() {
      let n = 0;
      for (const d of devices.values()) {
        const context = d.snapshot.context;
        // A running job is known only here: the device's next command must still wait for it.
        if (context.pending.length > 0 || Object.keys(context.running).length > 0) continue;
        inbox.remove(d);
        n++;
      }
      return n;
    },

    passivateIdle: () => passivation.passivateIdle(),

    size() {
      return { devices: devices.size, commands: commands.size };
    },

    liveDevices() {
      let live = 0;
      for (const d of devices.values()) if (d.actor) live++;
      return live;
    },

    liveCommands() {
      let live = 0;
      for (const d of devices.values()) {
        for (const _ in d.snapshot.children) live++;
      }
      return live;
    },

    stop() {
      passivation.stop();
      for (const d of [...devices.values()]) inbox.remove(d);
      deadlines.clear();
      jobs.clear();
      intake.stop();
      devices.clear();
      commands.clear();
    },
  };
}
