// What the shard and the bridge of one process hand each other directly. Between processes they
// meet in JetStream; inside one, each hop through it (publish, store, deliver, ack) is CPU spent
// for no guarantee: the command's row in Postgres is what a restart restores and resends, and a
// device reply is acknowledged to the broker only after its transition is committed.
import type { CommandDispatch, DeliveredFact, ReplyFact, ToDevice } from "./bus/messages.ts";

/** A command for the bridge to publish, its payload still sealed. */
export interface OutboundCommand extends Omit<ToDevice, "payload_enc"> {
  payload_enc: Uint8Array;
}

/** A command the API of this process committed, for the shard of this process to host. Its
 * outbox row stays until the command's first transition commit deletes it (see outbox_relay). */
export interface LocalDispatch extends Omit<CommandDispatch, "kind" | "payload_enc" | "recovered"> {
  partition: number;
  payload_enc: Uint8Array;
}

/** The bridge, as the shard of the same process sees it. */
export interface LocalBridge {
  /** Takes the command for delivery; false when the bridge no longer takes work (stopping). */
  send(command: OutboundCommand): boolean;
}

/** The shard, as the bridge of the same process sees it. */
export interface LocalShard {
  /** True while this shard owns the partition and has restored it. */
  hosts(partition: number): boolean;
  /** Hosts a command the API next door committed; false when the partition is not hosted here
   * (any more): then JetStream carries it to the partition's owner. */
  dispatch(command: LocalDispatch): boolean;
  /** The broker acknowledged a command this process sent. */
  delivered(fact: DeliveredFact): void;
  /** Resolves once the reply's effect is committed and its events stored; rejects when it could
   * not be handled now (the bridge then withholds the PUBACK, and the broker resends). */
  reply(fact: ReplyFact): Promise<void>;
}
