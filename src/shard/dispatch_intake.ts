// Dispatch intake: commands handed to this shard (from JetStream, or from the API next door)
// become hosted commands of their device shards, in arrival order, each once.
import type { JsMsg } from "@nats-io/jetstream";
import type { Exclusivity } from "../../machines/device_shard_machine.ts";
import type { CommandDispatch } from "../bus/messages.ts";
import type { Logger } from "../runtime/log.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import { createGroupCommit } from "../store/group_commit.ts";
import type { Clock } from "../async/time.ts";
import type { DeviceInbox } from "./device_inbox.ts";
import { type HostedCommand, toInput } from "./hosted_command.ts";
import type { TransitionWriter } from "./transition_writer.ts";

/** How a fact's source learns it was handled: a JetStream message, or the bridge next door. */
export type Settle = Pick<JsMsg, "ack" | "nak">;

/** A command on its way to being hosted, from JetStream or from the API next door. */
export interface Arriving {
  d: Omit<CommandDispatch, "kind" | "payload_enc" | "recovered">;
  payload_enc: Uint8Array;
  partition: number;
  settle: Settle;
  /** May have been hosted or finished before (a redelivery, an outbox pass): the row decides. */
  check: boolean;
}

/** For what needs no acknowledgement: its commit (or its outbox row) is its record. */
export const NOTHING_TO_SETTLE: Settle = { ack() {}, nak() {} };

export interface DispatchIntake {
  /** Hosts the command (batched with the others of this event-loop turn), then settles it. */
  queue(a: Arriving): void;
  /** Commands a restore hosted as ACCEPTED: their dispatch, if still in JetStream, is acked. */
  restored(command_ids: Iterable<string>): void;
  stop(): void;
}

export function createDispatchIntake(o: {
  store: Pick<LifecycleStore, "loadOutbound">;
  writer: Pick<TransitionWriter, "uncommitted">;
  clock: Clock;
  log: Logger;
  inbox: DeviceInbox;
  commands: ReadonlyMap<string, HostedCommand>;
  intern: (s: string) => string;
  exclusivity?: { of(vendor: string, method: string): Exclusivity | undefined };
}): DispatchIntake {
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
    if (o.commands.has(a.d.command_id) || o.writer.uncommitted(a.d.command_id)) {
      a.settle.ack(); // redelivery of a hosted command
      return;
    }
    dispatches.add(a);
  }

  // Commands restored as ACCEPTED whose dispatch may still be waiting in JetStream: that
  // first-time dispatch must not host them a second time.
  const restoredUnsent = new Set<string>();
  let forgetRestored: unknown;
  const { devices } = o.inbox;

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
      if (o.commands.has(d.command_id) || o.writer.uncommitted(d.command_id)) {
        settle.ack();
        continue;
      }
      const device = hosted ?? o.inbox.create(d.device_id, partition);
      const exclusivity = o.exclusivity?.of(d.vendor, d.command_type);
      o.inbox.deliver(device, {
        event: {
          type: "command.dispatched",
          command: toInput(d, o.intern),
          ...(exclusivity ? { exclusivity } : {}),
        },
        sendable: { bid: d.bid, payload_enc },
      });
      // Hosting writes nothing: the committed ACCEPTED row is the command's initial state (a
      // restore starts a command without a snapshot from its row), so the ack can go now.
      settle.ack();
    }
  }

  return {
    queue: queueDispatch,
    restored(command_ids) {
      for (const id of command_ids) restoredUnsent.add(id);
      // A dispatch still waiting in JetStream is pulled right after the restore; past this,
      // none can be left, and the ids need not be kept.
      o.clock.clearTimeout(forgetRestored);
      forgetRestored = o.clock.setTimeout(() => restoredUnsent.clear(), 10 * 60_000);
    },
    stop() {
      o.clock.clearTimeout(forgetRestored);
      restoredUnsent.clear();
    },
  };
}
