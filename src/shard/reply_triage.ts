// Reply triage: a device reply goes to the hosted command it answers; one no hosted command
// takes (late, stray, from another gateway, unknown tid) is looked up in Postgres and reported.
import { type StoredCommandSnapshot, withContext } from "../../machines/command_machine.ts";
import { type DeviceReplyEvent, matchReply } from "../../machines/device_shard_machine.ts";
import type { ReplyFact } from "../bus/messages.ts";
import { lifecycleEvent, unownedProblem } from "../command/lifecycle_event.ts";
import { TERMINAL_STATUSES } from "../command/status.ts";
import type { Logger } from "../runtime/log.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import type { Clock } from "../async/time.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import { createCommandLookup } from "./command_lookup.ts";
import type { DeviceInbox } from "./device_inbox.ts";
import type { Settle } from "./dispatch_intake.ts";
import { type CommandTaker, contextOf, HostedCommand } from "./hosted_command.ts";
import type { TransitionWriter } from "./transition_writer.ts";

export interface ReplyTriage {
  /** A reply from the bridge: settled once its effect is committed (or given back). */
  handleReply(msg: Settle, fact: ReplyFact): void;
  /** A reply the device shard hosts no command for (its `reportUnknownReply`); `fact` is the
   * reply as the vendor sent it. Rejects when the lookup fails (the reply is redelivered). */
  unknownReply(event: DeviceReplyEvent, fact: ReplyFact | undefined): Promise<void>;
}

export function createReplyTriage(o: {
  store: LifecycleStore;
  writer: TransitionWriter;
  /** The adapters replies are mapped with: the command's vendor's, or for a reply no hosted
   * command claims, that of the vendor whose wire carried it. */
  vendors: Pick<VendorRegistry, "of">;
  clock: Clock;
  log: Logger;
  count(name: string): void;
  inbox: DeviceInbox;
  commands: ReadonlyMap<string, HostedCommand>;
  toCommand: CommandTaker;
  intern: (s: string) => string;
  beforeReply?(tid: string): void;
  replyTaken?(receivedAt: number): { committed(): void };
}): ReplyTriage {
  const lookup = createCommandLookup(o.store);

  function handleReply(msg: Settle, fact: ReplyFact) {
    if (fact.reply.tid !== undefined) o.beforeReply?.(fact.reply.tid);
    const hosted = o.inbox.devices.get(fact.gateway);
    const context = hosted?.snapshot.context;
    const match = context
      ? matchReply(context, {
        tid: fact.reply.tid,
        method: fact.reply.method,
        channel: fact.channel,
      })
      : undefined;
    const method = match ? context!.pending.find((p) => p.id === match)!.method : undefined;
    const vendor = (match && o.commands.get(match)?.snapshot.context.vendor) || fact.vendor;
    const event: DeviceReplyEvent = {
      type: "device.reply",
      gateway: fact.gateway,
      channel: fact.channel,
      tid: fact.reply.tid,
      method: fact.reply.method,
      received_at: fact.received_at,
      outcome: o.vendors.of(vendor).mapReply(method ?? fact.reply.method ?? "", fact.reply),
    };
    const waitFor = hosted
      ? o.inbox.deliver(hosted, { event, reply: fact })
      : [unknownReply(event, fact)];
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
    if (row && !TERMINAL_STATUSES.has(row.status) && tid && !o.commands.has(tid)) {
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
      const snapshot = withContext(row.snapshot as StoredCommandSnapshot, contextOf(row, o.intern));
      const c = new HostedCommand(row.command_id, snapshot, undefined, undefined);
      o.toCommand(c, {
        type: "device.reply",
        gateway: event.gateway,
        channel: event.channel,
        received_at: event.received_at,
        outcome: o.vendors.of(row.vendor).mapReply(row.command_type, fact.reply),
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

  return { handleReply, unknownReply };
}
