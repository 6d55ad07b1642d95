// A dock's `events` message (thing/product/{gateway_sn}/events) and the `events_reply` that
// answers one with `need_reply: 1` (PROTOCOL §2.3, §8.5). Parsing never throws: device bytes are
// untrusted.
import { describeValue } from "../../json/describe_value.ts";
import { readDeviceJson } from "./device_json.ts";
import type { DeviceEventMessage, ParsedDeviceEvent } from "../vendor_adapter.ts";

export type { DeviceEventMessage, ParsedDeviceEvent };

/** The MQTT filter a bridge subscribes to for events (prefix `$share/<group>/` to share them). */
export const EVENTS_TOPIC = "thing/product/+/events";

export interface EventsReply {
  tid?: string;
  bid?: string;
  timestamp: number;
  method: string;
  data: { result: 0 };
}

const GATEWAY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The gateway of an events topic, or undefined when `topic` is none. */
export function eventsTopicGateway(topic: string): string | undefined {
  const parts = topic.split("/");
  if (parts.length !== 4 || parts[0] !== "thing" || parts[1] !== "product") return undefined;
  if (parts[3] !== "events" || !GATEWAY.test(parts[2])) return undefined;
  return parts[2];
}

export function eventsReplyTopic(gateway: string): string {
  return `thing/product/${gateway}/events_reply`;
}

const text = (v: unknown) => typeof v === "string" && v.length > 0 ? v : undefined;

// DJI's docs write timestamp as a string in one example (PROTOCOL §2.3); it means a number.
function timestampOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return Number(value);
  return undefined;
}

/** Parses a message from an events topic; an event without a method is refused (nothing could
 * be linked to it, and DJI's answer must echo the method). */
export function parseDeviceEvent(
  topic: string,
  bytes: Uint8Array,
  maxBytes: number,
): ParsedDeviceEvent {
  const gateway = eventsTopicGateway(topic);
  if (!gateway) {
    return { ok: false, reason: "BAD_TOPIC", detail: `Not a DJI events topic: ${topic}` };
  }
  const read = readDeviceJson(bytes, maxBytes, "Event");
  if (!read.ok) return { ...read, gateway };
  const f = read.fields;
  const method = text(f["method"]);
  if (!method) {
    const detail = `Event method must be a non-empty string, got ${describeValue(f["method"])}`;
    return { ok: false, reason: "NO_METHOD", detail, gateway };
  }
  const tid = text(f["tid"]);
  const bid = text(f["bid"]);
  const timestamp = timestampOf(f["timestamp"]);
  return {
    ok: true,
    gateway,
    event: {
      ...(tid ? { tid } : {}),
      ...(bid ? { bid } : {}),
      method,
      ...(timestamp !== undefined ? { timestamp } : {}),
      // DJI sends 1 or 0; "1" is read as 1 so a dock that quotes it is still answered.
      need_reply: f["need_reply"] === 1 || f["need_reply"] === "1" || f["need_reply"] === true,
      data: f["data"],
    },
  };
}

/** DJI's events_reply: the event's tid, bid and method, a fresh timestamp, `{result: 0}`. */
export function buildEventsReply(event: DeviceEventMessage, timestamp: number): EventsReply {
  return {
    ...(event.tid ? { tid: event.tid } : {}),
    ...(event.bid ? { bid: event.bid } : {}),
    timestamp,
    method: event.method,
    data: { result: 0 },
  };
}
