// The DJI MQTT envelope in both directions: topics, the command sent to a device, and the
// parsing of what devices answer (PROTOCOL §1, §2). Parsing never throws: device bytes are untrusted.
import type { CommandChannel } from "./catalog.ts";
import { describeValue } from "../../json/describe_value.ts";
import { readDeviceJson } from "./device_json.ts";
import type { DeviceReply, ParsedDeviceReply, ReplyParseFailure } from "../vendor_adapter.ts";

export type { DeviceReply, ParsedDeviceReply, ReplyParseFailure };

export interface ServicesEnvelope {
  tid: string;
  bid: string;
  timestamp: number;
  method: string;
  data: unknown;
}

/** MQTT filters a bridge subscribes to for answers (prefix `$share/<group>/` to share them). */
export const REPLY_TOPICS = [
  "thing/product/+/services_reply",
  "thing/product/+/drc/up",
] as const;

/**
 * The command as DJI expects it on the wire. DJI's own server sends no `gateway`; a command
 * without parameters carries `data: {}`, which every dock accepts (PROTOCOL §2.1).
 */
export function buildServicesEnvelope(o: {
  tid: string;
  bid: string;
  method: string;
  data: unknown;
  timestamp: number;
}): ServicesEnvelope {
  return {
    tid: o.tid,
    bid: o.bid,
    timestamp: o.timestamp,
    method: o.method,
    data: o.data ?? {},
  };
}

/** The topic a command is published on. `deviceId` must already be validated (one topic level, no wildcards). */
export function deviceTopic(channel: CommandChannel, deviceId: string): string {
  return channel === "drc"
    ? `thing/product/${deviceId}/drc/down`
    : `thing/product/${deviceId}/services`;
}

const GATEWAY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function topicParts(topic: string): { gateway: string; channel: CommandChannel } | undefined {
  const parts = topic.split("/");
  if (parts[0] !== "thing" || parts[1] !== "product") return undefined;
  const gateway = parts[2];
  // The gateway becomes a NATS subject token: only a serial a device id may be passes.
  if (!gateway || !GATEWAY.test(gateway)) return undefined;
  if (parts.length === 4 && parts[3] === "services_reply") return { gateway, channel: "services" };
  if (parts.length === 5 && parts[3] === "drc" && parts[4] === "up") {
    return { gateway, channel: "drc" };
  }
  return undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

// DJI docs write `timestamp` as a string in one example (PROTOCOL §2.3); it means a number.
function timestampOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return Number(value);
  return undefined;
}

// A non-string method is kept in text form, so that mapReply still sees it differ from the command.
function methodOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "string" ? value : describeValue(value);
}

/**
 * Parses a message from a reply topic. The gateway is taken from the topic, which the broker
 * vouches for, never from the body. `tid` is required on services_reply; drc/up messages
 * (`drone_control` acks, OSD pushes) may have none and then parse with `tid` undefined.
 */
export function parseDeviceReply(
  topic: string,
  bytes: Uint8Array,
  maxBytes: number,
): ParsedDeviceReply {
  const where = topicParts(topic);
  if (!where) {
    return {
      ok: false,
      reason: "BAD_TOPIC",
      detail: `Not a DJI reply topic: ${describeValue(topic)}`,
    };
  }
  const { gateway, channel } = where;
  // Before anything recursive (reply mapping, JSON.stringify on the way to the shard) sees it.
  const read = readDeviceJson(bytes, maxBytes, "Reply");
  if (!read.ok) return { ...read, gateway };
  const fields = read.fields;
  const tid = nonEmptyString(fields["tid"]);
  const tidAbsent = fields["tid"] === undefined || fields["tid"] === null || fields["tid"] === "";
  if (!tid && (channel === "services" || !tidAbsent)) {
    return {
      ok: false,
      reason: "NO_TID",
      detail: `Reply tid must be a non-empty string, got ${describeValue(fields["tid"])}`,
      gateway,
    };
  }
  const bid = nonEmptyString(fields["bid"]);
  const method = methodOf(fields["method"]);
  const timestamp = timestampOf(fields["timestamp"]);
  // DJI examples often send `gateway: ""`: that is no value.
  const claimed = nonEmptyString(fields["gateway"]);
  const reply: DeviceReply = {
    ...(tid ? { tid } : {}),
    ...(bid ? { bid } : {}),
    ...(method ? { method } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(claimed ? { gateway: claimed } : {}),
    data: fields["data"],
  };
  return { ok: true, gateway, channel, reply };
}
