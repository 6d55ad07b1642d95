// What the shard and the bridge of one process hand each other directly: commands to send, and
// the broker's acknowledgements of them. Device replies travel through JetStream, in one process
// as in many: a reply is acknowledged to the broker once JetStream stored it (well under a
// millisecond), not after a Postgres commit, which under load takes long enough to stall a reply
// connection (mqtt.js reads its next packet, keep-alive answers included, only once the previous
// one is acknowledged). Only while NATS is away does a reply go to the shard next door by hand.
import type {
  CommandDispatch,
  DeliveredFact,
  PresenceFact,
  ReplyFact,
  ToDevice,
} from "./bus/messages.ts";

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
  /** A reply JetStream cannot take now: resolves once its effect is committed; rejects when it
   * could not be handled (the bridge then withholds the PUBACK, and the broker resends). */
  reply(fact: ReplyFact): Promise<void>;
  /** A presence fact of a partition: resolves once what it changed is committed; undefined when
   * the partition is not hosted here (then JetStream carries it to the owner). */
  presence(partition: number, fact: PresenceFact): Promise<void> | undefined;
}
