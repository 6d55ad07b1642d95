// The shapes of the messages that travel over JetStream between roles. Times are epoch
// milliseconds.
import type { CommandChannel } from "../vendors/dji/catalog.ts";
import type { CommandInput } from "../../machines/command_machine.ts";
import type { DeviceReply } from "../vendors/dji/envelope.ts";

/** api → shard: a command committed in Postgres, to be hosted by its device's shard. */
export interface CommandDispatch extends CommandInput {
  kind: "command";
  bid: string;
  timeout_seconds: number;
  /** The payload sealed at the API edge (AES-256-GCM, aad = command_id), base64: the shard
   * hosts the command without reading Postgres, and only the bridge can open it. */
  payload_enc: string;
  /** Carried by an outbox pass rather than straight after the commit: it may have been
   * carried (and even finished) before, so the shard checks it against Postgres. */
  recovered?: true;
}

/** shard → bridge: publish this command on the device's MQTT topic. The payload stays sealed
 * (AES-256-GCM, aad = command_id) until the bridge opens it. */
export interface ToDevice {
  command_id: string;
  device_id: string;
  method: string;
  channel: CommandChannel;
  bid: string;
  deadline_at: number;
  payload_enc: string; // base64
}

/** bridge → shard: the broker acknowledged (QoS 1 PUBACK) the command's publish. */
export interface DeliveredFact {
  kind: "delivered";
  command_id: string;
  device_id: string;
  at: number;
}

/** bridge → shard: a well-formed reply arrived on a device's reply topic. */
export interface ReplyFact {
  kind: "reply";
  gateway: string;
  channel: CommandChannel;
  received_at: number;
  reply: DeviceReply;
}

export type ShardMessage = CommandDispatch | DeliveredFact | ReplyFact;
