// Hosts the device-shard actors of the partitions this process owns: feeds them the JetStream
// messages of those partitions, gives the machines their real effects, and restores them.
import { setImmediate } from "node:timers";
import { type Actor, createActor, type InspectionEvent } from "xstate";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import {
  type CommandInput,
  commandMachine,
  statusOf,
  withDeadlineClock,
} from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  deviceShardMachine,
  matchReply,
  restoredDeviceSnapshot,
} from "../../machines/device_shard_machine.ts";
import {
  type CommandDispatch,
  type ReplyFact,
  type ShardMessage,
  TERMINAL_STATUSES,
  type ToDevice,
} from "../bus/messages.ts";
import type { TopologyNames } from "../bus/subjects.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../time.ts";
import { mapReply } from "../vendors/dji/reply_mapping.ts";
import type { TransitionWriter } from "./transition_writer.ts";
import { lifecycleEvent, unownedProblem } from "./lifecycle_event.ts";
import { Buffer } from "node:buffer";

type DeviceActor = Actor<typeof deviceShardMachine>;

interface HostedDevice {
  actor: DeviceActor;
  partition: number;
}

/** What must still reach the bridge for a command not yet handed over. */
interface Unsent {
  partition: number;
  device_id: string;
  method: string;
  channel: ToDevice["channel"];
  bid: string;
  deadline_at: number;
  payload_enc: Uint8Array;
}

export interface DeviceHostOptions {
  js: JetStreamClient;
  names: TopologyNames;
  store: LifecycleStore;
  writer: TransitionWriter;
  clock: Clock;
  log: Logger;
  /** With config.inspect: every actor reports to the Stately inspector. */
  inspect?: (event: InspectionEvent) => void;
  count(name: string): void;
}

export interface DeviceHost {
  /** Restores every in-flight command of a partition (before its consumer starts). */
  restore(partition: number): Promise<number>;
  handle(msg: JsMsg, partition: number): void;
  drop(partition: number): void;
  /** Stops device actors with nothing pending (they are cheap to recreate). */
  sweepIdle(): number;
  /** Number of hosted device actors and pending commands (for tests and metrics). */
  size(): { devices: number; commands: number };
  stop(): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function createDeviceHost(o: DeviceHostOptions): DeviceHost {
  const devices = new Map<string, HostedDevice>();
  const unsent = new Map<string, Unsent>();
  // The ReplyFact being handled, for the unknown-reply path that needs the raw reply, and the
  // work the current message must wait for before it is acknowledged.
  let currentReply: ReplyFact | undefined;
  let holds: Promise<unknown>[] = [];

  const commandLogic = withDeadlineClock(commandMachine, () => o.clock.now()).provide({
    actions: {
      record: ({ self, context }, { kind }) => o.writer.record(self, kind, context),
      reportProblem: ({ context, self }, { problem, detail }) => {
        o.count("problems");
        o.log.warn("reply problem", { problem, detail, command_id: context.command_id });
        // No transition: the status now is the status the event reports.
        const status = statusOf(self.getSnapshot());
        o.writer.publish(
          "problem",
          lifecycleEvent("problem", context, status, o.clock.now(), { problem, detail }),
        );
      },
    },
  });

  const deviceLogic = deviceShardMachine.provide({
    actors: { command: commandLogic },
    actions: {
      sendToBridge: (_, { command_id }) => sendToBridge(command_id),
      reportUnknownReply: (_, { reply }) => {
        holds.push(unknownReply(reply, currentReply));
      },
    },
  });

  function createDevice(device_id: string, partition: number, snapshot?: unknown): DeviceActor {
    const actor = createActor(deviceLogic, {
      id: `device:${device_id}`,
      clock: o.clock,
      input: { device_id },
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      ...(o.inspect ? { inspect: o.inspect } : {}),
    });
    actor.start();
    devices.set(device_id, { actor, partition });
    return actor;
  }

  function sendToBridge(command_id: string): void {
    const u = unsent.get(command_id);
    if (!u) {
      o.log.error("no payload to send for command", { command_id });
      return;
    }
    unsent.delete(command_id);
    // A command whose deadline passed in the queue is not sent; its actor times out by itself.
    const message: ToDevice = {
      command_id,
      device_id: u.device_id,
      method: u.method,
      channel: u.channel,
      bid: u.bid,
      deadline_at: u.deadline_at,
      payload_enc: Buffer.from(u.payload_enc).toString("base64"),
    };
    const subject = o.names.bridgeSubject(u.partition, u.device_id);
    const body = encoder.encode(JSON.stringify(message));
    // msgID = command id: a resend after a restart is deduplicated by the bridge stream.
    const publish = (attempt: number): Promise<void> =>
      o.js.publish(subject, body, { msgID: command_id }).then(() => {}, async (err) => {
        if (attempt >= 5 || o.clock.now() > u.deadline_at) {
          o.log.error("could not hand command to the bridge", { err, command_id });
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        return publish(attempt + 1);
      });
    void publish(0);
  }

  // Dispatches of one event-loop turn share one Postgres read.
  let dispatchBatch: Array<{ msg: JsMsg; d: CommandDispatch; partition: number }> = [];
  function queueDispatch(msg: JsMsg, d: CommandDispatch, partition: number) {
    if (
      devices.get(d.device_id)?.actor.getSnapshot().context.pending.some((p) =>
        p.id === d.command_id
      )
    ) {
      msg.ack(); // redelivery of a hosted command
      return;
    }
    dispatchBatch.push({ msg, d, partition });
    if (dispatchBatch.length === 1) {
      setImmediate(() => {
        const batch = dispatchBatch;
        dispatchBatch = [];
        // One batch at a time: a later batch's read must not finish first and host its
        // commands ahead of earlier ones (FIFO per device).
        hosting = hosting.then(() => hostDispatches(batch)).catch((err) => {
          o.log.error("hosting dispatched commands failed", { err });
          for (const b of batch) b.msg.nak(1_000);
        });
      });
    }
  }
  let hosting: Promise<void> = Promise.resolve();

  async function hostDispatches(
    batch: Array<{ msg: JsMsg; d: CommandDispatch; partition: number }>,
  ): Promise<void> {
    let rows;
    try {
      rows = await o.store.loadOutbound(batch.map((b) => b.d.command_id));
    } catch (err) {
      o.log.error("could not load dispatched commands, will retry", { err });
      for (const b of batch) b.msg.nak(1_000);
      return;
    }
    for (const { msg, d, partition } of batch) {
      const row = rows.get(d.command_id);
      const hosted = devices.get(d.device_id);
      if (!row || TERMINAL_STATUSES.has(row.status) || row.status !== "ACCEPTED") {
        // Finished already (redelivery after the end), or restored from Postgres instead.
        if (!row) o.log.warn("dispatch for a command with no row", { command_id: d.command_id });
        msg.ack();
        continue;
      }
      if (hosted?.actor.getSnapshot().context.pending.some((p) => p.id === d.command_id)) {
        msg.ack();
        continue;
      }
      unsent.set(d.command_id, {
        partition,
        device_id: d.device_id,
        method: d.command_type,
        channel: d.channel,
        bid: row.bid,
        deadline_at: d.deadline_at,
        payload_enc: row.payload_enc,
      });
      const actor = hosted?.actor ?? createDevice(d.device_id, partition);
      actor.send({ type: "command.dispatched", command: toInput(d) });
      o.writer.afterCommit(() => msg.ack());
    }
  }

  function handleReply(msg: JsMsg, fact: ReplyFact) {
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
      outcome: mapReply(method ?? fact.reply.method ?? "", fact.reply),
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
    if (waitFor.length === 0) o.writer.afterCommit(() => msg.ack());
    else {
      Promise.allSettled(waitFor).then(() => o.writer.afterCommit(() => msg.ack()));
    }
  }

  /** A reply no hosted command took: a late reply to a TIMED_OUT command, a reply to a command
   * that already finished, one from another device's gateway, or a tid nobody knows. */
  async function unknownReply(event: DeviceReplyEvent, fact: ReplyFact | undefined): Promise<void> {
    const now = o.clock.now();
    const tid = event.tid;
    const row = tid
      ? await o.store.findCommand(tid).catch((err) => {
        o.log.error("reply lookup failed", { err, tid });
        return null;
      })
      : undefined;
    if (row === null) return; // lookup failed: logged; the message is acked (problem not published)
    if (!row) {
      o.count("unknown_replies");
      o.log.warn("reply with an unknown tid", {
        tid,
        gateway: event.gateway,
        method: event.method,
      });
      o.writer.publish(
        "problem",
        unownedProblem(now, "UNKNOWN_TID", `no command has tid ${tid ?? "(none)"}`, {
          device_id: event.gateway,
          ...(tid ? { command_id: tid } : {}),
        }),
      );
      return;
    }
    if (row.device_id !== event.gateway) {
      o.count("foreign_replies");
      const detail = `reply from gateway ${event.gateway} for a command of device ${row.device_id}`;
      o.log.warn("reply from another gateway", { command_id: row.command_id, detail });
      o.writer.publish(
        "problem",
        lifecycleEvent("problem", row, row.status, now, {
          problem: "FOREIGN_GATEWAY_REPLY",
          detail,
        }),
      );
      return;
    }
    if (row.status === "TIMED_OUT" && row.snapshot && fact) {
      // Late reply: the command machine itself keeps it (TIMED_OUT takes device.reply).
      const actor = createActor(commandLogic, {
        snapshot: row.snapshot as never,
        clock: o.clock,
        input: toInput(row),
        ...(o.inspect ? { inspect: o.inspect } : {}),
      });
      actor.start();
      actor.send({
        type: "device.reply",
        gateway: event.gateway,
        received_at: event.received_at,
        outcome: mapReply(row.command_type, fact.reply),
      });
      actor.stop();
      return;
    }
    o.count("stray_replies");
    const detail = TERMINAL_STATUSES.has(row.status)
      ? `reply for a command already ${row.status}; ignored`
      : `reply for a command this shard does not host (status ${row.status}); ignored`;
    o.log.warn("reply for a command not in flight here", { command_id: row.command_id, detail });
    o.writer.publish(
      "problem",
      lifecycleEvent("problem", row, row.status, now, { problem: "REPLY_NOT_EXPECTED", detail }),
    );
  }

  function handleDelivered(msg: JsMsg, command_id: string, device_id: string, at: number) {
    devices.get(device_id)?.actor.send({ type: "bridge.delivered", command_id, at });
    o.writer.afterCommit(() => msg.ack());
  }

  return {
    async restore(partition) {
      const rows = await o.store.loadInFlight([partition]);
      const byDevice = new Map<string, typeof rows>();
      for (const r of rows) {
        let list = byDevice.get(r.device_id);
        if (!list) byDevice.set(r.device_id, list = []);
        list.push(r);
        if (r.status === "ACCEPTED" && r.payload_enc) {
          unsent.set(r.command_id, {
            partition,
            device_id: r.device_id,
            method: r.command_type,
            channel: r.channel,
            bid: r.bid,
            deadline_at: r.deadline_at,
            payload_enc: r.payload_enc,
          });
        }
      }
      for (const [device_id, list] of byDevice) {
        const snapshot = restoredDeviceSnapshot(
          device_id,
          list.map((r) => ({
            // A command accepted but never hosted has no snapshot yet: start it from its row.
            snapshot: (r.snapshot as never) ?? {
              status: "active",
              value: r.status,
              context: { ...toInput(r), delivered_at: r.delivered_at },
              children: {},
              historyValue: {},
            },
          })),
        );
        const actor = createDevice(device_id, partition, snapshot);
        // Restored `after` timers are not re-armed by xstate (statelyai/xstate#5331).
        actor.send({ type: "commands.rearm" });
      }
      return rows.length;
    },

    handle(msg, partition) {
      let m: ShardMessage;
      try {
        m = JSON.parse(decoder.decode(msg.data));
      } catch (err) {
        o.log.error("undecodable shard message dropped", { err, subject: msg.subject });
        msg.term();
        return;
      }
      try {
        if (m.kind === "command") queueDispatch(msg, m, partition);
        else if (m.kind === "delivered") handleDelivered(msg, m.command_id, m.device_id, m.at);
        else if (m.kind === "reply") handleReply(msg, m);
        else msg.term();
      } catch (err) {
        // A bug, not an expected outcome: keep the process alive, let JetStream redeliver.
        o.log.error("shard message failed", { err, subject: msg.subject });
        msg.nak(1_000);
      }
    },

    drop(partition) {
      for (const [id, d] of devices) {
        if (d.partition !== partition) continue;
        d.actor.stop();
        devices.delete(id);
      }
      for (const [id, u] of unsent) if (u.partition === partition) unsent.delete(id);
    },

    sweepIdle() {
      let n = 0;
      for (const [id, d] of devices) {
        if (d.actor.getSnapshot().context.pending.length > 0) continue;
        d.actor.stop();
        devices.delete(id);
        n++;
      }
      return n;
    },

    size() {
      let commands = 0;
      for (const d of devices.values()) commands += d.actor.getSnapshot().context.pending.length;
      return { devices: devices.size, commands };
    },

    stop() {
      for (const d of devices.values()) d.actor.stop();
      devices.clear();
      unsent.clear();
    },
  };
}

function toInput(d: CommandInput): CommandInput {
  return {
    command_id: d.command_id,
    tenant_id: d.tenant_id,
    client_id: d.client_id,
    vendor: d.vendor,
    device_id: d.device_id,
    command_type: d.command_type,
    channel: d.channel,
    accepted_at: d.accepted_at,
    deadline_at: d.deadline_at,
  };
}
