// The link: what carries a committed command to its device's shard, a claimed command to the
// bridge, and the bridge's facts (delivered, reply, presence) back to the shard. The roles hold
// this port and never learn what runs behind it; the composition root picks the adapter
// (DOWNLINK_LINK): JetStream (jetstream_link.ts, the default, in one process as in many) or the
// in-process hand-over (in_process_link.ts). Every way through settles one way: a promise that
// resolves once the other side (or JetStream) has it and rejects when neither does.
import type {
  CommandDispatch,
  DeliveredFact,
  PresenceFact,
  ReplyFact,
  ToDevice,
} from "../bus/messages.ts";

/** A command for the bridge to publish, its payload still sealed. */
export interface OutboundCommand extends Omit<ToDevice, "payload_enc"> {
  payload_enc: Uint8Array;
}

/** A committed command for its device's shard to host, its payload still sealed. */
export interface Dispatch extends Omit<CommandDispatch, "kind" | "payload_enc" | "recovered"> {
  partition: number;
  payload_enc: Uint8Array;
}

/** How a dispatch reached its shard: taken by the shard of this process (its outbox row stays
 * until the command's first transition deletes it), or stored in JetStream (the row can go). */
export type DispatchCarried = "hosted" | "stored";

export interface Link {
  /** How long the outbox row of a command accepted now for `partition` waits for its hand-over
   * before an outbox pass carries it (0: carried now, deleted once stored). Decided at accept. */
  outboxHoldSeconds(partition: number): number;
  /** API to shard: the command's accepted event is stored already. `held`: its outbox row waits
   * for its first transition (outboxHoldSeconds > 0 at accept); `recovered`: an outbox pass
   * carries it (it may have been hosted or finished before). Rejects when not carried (the
   * outbox carries it later). */
  dispatch(command: Dispatch, how: { held: boolean; recovered: boolean }): Promise<DispatchCarried>;
  /** Shard to bridge: resolves once a bridge has the command; rejects when not (the sender tries
   * again until the command's deadline). */
  command(command: OutboundCommand, partition: number): Promise<void>;
  /** Bridge to shard: the broker acknowledged a command. */
  delivered(fact: DeliveredFact, partition: number): Promise<void>;
  /** Bridge to shard: resolves once the reply is stored or its effect committed; rejects when
   * neither (the bridge then withholds the PUBACK, and the broker resends). */
  reply(fact: ReplyFact, partition: number): Promise<void>;
  /** Bridge to shard: devices seen, topologies. */
  presence(fact: PresenceFact, partition: number): Promise<void>;
  /** The roles of this process, for an adapter that hands over in memory (the JetStream one
   * ignores them). Called by the composition root once they run. */
  attach(ends: { shard?: ShardEnd; bridge?: BridgeEnd }): void;
  close(): void;
}

/** The shard, as an in-process link reaches it. */
export interface ShardEnd {
  /** True while this shard owns the partition and has restored it. */
  hosts(partition: number): boolean;
  /** Hosts a command; false when the partition is not hosted here (any more). */
  dispatch(command: Dispatch): boolean;
  /** The broker acknowledged a command this process sent. */
  delivered(fact: DeliveredFact): void;
  /** Resolves once the reply's effect is committed; rejects when it could not be handled. */
  reply(fact: ReplyFact): Promise<void>;
  /** Resolves once what the fact changed is committed; undefined when the partition is not
   * hosted here. */
  presence(partition: number, fact: PresenceFact): Promise<void> | undefined;
}

/** The bridge, as an in-process link reaches it. */
export interface BridgeEnd {
  /** Takes the command for delivery; false when the bridge no longer takes work (stopping). */
  send(command: OutboundCommand): boolean;
}
