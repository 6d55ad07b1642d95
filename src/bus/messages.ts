// The shapes of the messages that travel over JetStream between roles. Times are epoch
// milliseconds.
import type { CommandChannel } from "../command/channel.ts";
import type { CommandInput } from "../command/command_facts.ts";
import type {
  DeviceEventMessage,
  DeviceReply,
  DeviceRequestAnswer,
  DeviceRequestMessage,
  UpdateTopo,
} from "../vendors/vendor_adapter.ts";
import type { Sighting } from "../device/presence_registry.ts";

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
  /** The command's vendor: the bridge sends it on that vendor's wire (absent from a message of
   * an earlier version: the first registered vendor's). */
  vendor: string;
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
  /** The vendor whose reply filter took it: the shard maps a reply no command claims with its
   * adapter (absent from a message of an earlier version: the first registered vendor's). */
  vendor: string;
  gateway: string;
  channel: CommandChannel;
  received_at: number;
  reply: DeviceReply;
}

export type ShardMessage = CommandDispatch | DeliveredFact | ReplyFact;

/** bridge → shard, on `{ns}.shard.{partition}.event.{gateway}`: a dock's `events` message,
 * stored in JetStream before the bridge answers it (events_reply) or acknowledges it to the
 * broker. The shard links it to a command's progress or keeps it as a device event. */
export interface EventFact {
  kind: "event";
  /** The vendor whose events filter took it; the shard reads its progress with that adapter
   * (absent from a message of an earlier version: the first registered vendor's). */
  vendor: string;
  gateway: string;
  received_at: number;
  event: DeviceEventMessage;
}

/** bridge → shard, on `{ns}.shard.{partition}.request.{gateway}`: a dock's `requests` message,
 * stored in JetStream before the bridge acknowledges it to the broker. The shard records it; a
 * client (or Downlink, after the grace period) answers it. */
export interface RequestFact {
  kind: "request";
  /** The vendor whose requests filter took it (absent from a message of an earlier version: the
   * first registered vendor's). */
  vendor: string;
  gateway: string;
  received_at: number;
  request: DeviceRequestMessage;
}

/** api or shard → bridge, on the bridge stream: publish this answer to a dock's request on
 * `requests_reply`. Unlike a command it may be published twice (a redelivery): a dock ignores
 * an answer to a tid it no longer waits for. */
export interface RequestReply {
  kind: "request_reply";
  /** The vendor whose wire carries the answer (the request's); absent: the first registered
   * vendor's (a request stored before requests recorded their vendor). */
  vendor?: string;
  request_id: string;
  gateway: string;
  tid: string;
  bid?: string;
  method: string;
  answer: DeviceRequestAnswer;
}

/** bridge → shard: a gateway's update_topo (answered with status_reply once the shard has it). */
export interface TopologyFact {
  kind: "topology";
  gateway: string;
  at: number;
  topo: Pick<UpdateTopo, "gateway" | "sub_devices">;
}

/** bridge → shard: the devices of one partition heard from since the bridge's previous batch,
 * each with its latest time (telemetry is coalesced in the bridge before it travels). */
export interface SeenFact {
  kind: "seen";
  devices: Sighting[];
}

/** bridge → shard, on `{ns}.shard.{partition}.presence`: what the device registry takes. */
export type PresenceFact = TopologyFact | SeenFact;
