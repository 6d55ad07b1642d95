// The shapes of the messages that travel over JetStream between roles, and of the public
// lifecycle events. Times are epoch milliseconds inside, RFC 3339 in public events.
import type { EventKind } from "./subjects.ts";
import type { CommandChannel } from "../vendors/dji/catalog.ts";
import type { CommandInput } from "../../machines/command_machine.ts";
import type { DeviceReply } from "../vendors/dji/envelope.ts";

export type CommandStatus =
  | "ACCEPTED"
  | "DELIVERED"
  | "SUCCEEDED"
  | "FAILED"
  | "TIMED_OUT"
  | "UNMATCHED_RESPONSE";

export const TERMINAL_STATUSES: ReadonlySet<CommandStatus> = new Set([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "UNMATCHED_RESPONSE",
]);

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

/** A public lifecycle event (`tenant.{tenant_id}.command.{kind}`). Never carries the payload. */
export interface LifecycleEvent {
  event_id: string;
  event_type: `command.${EventKind}`;
  command_id?: string;
  tenant_id?: string;
  client_id?: string;
  vendor?: string;
  device_id?: string;
  command_type?: string;
  status?: CommandStatus;
  occurred_at: string;
  problem?: string;
  detail?: string;
  response_code?: string;
  response_message?: string;
  vendor_response?: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
  accepted_at?: string;
  delivered_at?: string;
  completed_at?: string;
  response_received_at?: string;
  deadline_at?: string;
}
