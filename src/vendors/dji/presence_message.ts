// The DJI messages that tell a device is there (PROTOCOL §2.5, §8): `update_topo` on
// sys/product/{gateway_sn}/status and its `status_reply`, and the topics whose every message
// proves a device alive. Parsing never throws: device bytes are untrusted.
import { MAX_JSON_DEPTH, tooDeepAt } from "../../json/json_depth.ts";
import { productModel } from "./product_models.ts";
import type { ParsedStatus, PresenceChannel, ProductInfo, UpdateTopo } from "../vendor_adapter.ts";

export type { ParsedStatus, PresenceChannel, ProductInfo, UpdateTopo };

/** MQTT filters a bridge subscribes to for presence (prefix `$share/<group>/` to share them).
 * services_reply comes on the reply connections and counts as well. */
export const PRESENCE_TOPICS = [
  "sys/product/+/status",
  "thing/product/+/osd",
  "thing/product/+/state",
  "thing/product/+/events",
  "thing/product/+/requests",
] as const;

const SERIAL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The serial and channel of a presence topic, or undefined for any other topic. */
export function presenceTopic(
  topic: string,
): { serial: string; channel: PresenceChannel } | undefined {
  const parts = topic.split("/");
  if (parts.length !== 4 || parts[1] !== "product") return undefined;
  const serial = parts[2];
  // The serial becomes a device id (a NATS subject token, an MQTT topic level).
  if (!serial || !SERIAL.test(serial)) return undefined;
  if (parts[0] === "sys" && parts[3] === "status") return { serial, channel: "status" };
  if (parts[0] !== "thing") return undefined;
  const channel = parts[3];
  return channel === "osd" || channel === "state" || channel === "events" ||
      channel === "requests"
    ? { serial, channel }
    : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

// DJI sends the enum as numbers, `domain` as a string; a numeric string is read as meant.
function intOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^[0-9]{1,9}$/.test(value)) return Number(value);
  return undefined;
}

function productOf(o: Record<string, unknown>): ProductInfo {
  const type = intOf(o["type"]);
  const sub_type = intOf(o["sub_type"]);
  const domain = o["domain"] === undefined || o["domain"] === null
    ? undefined
    : String(o["domain"]);
  const model = productModel(type, sub_type);
  return {
    ...(domain !== undefined && domain.length <= 16 ? { domain } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(sub_type !== undefined ? { sub_type } : {}),
    ...(model ? { model } : {}),
  };
}

/** Reads a message of sys/product/{gateway}/status: an `update_topo`, or why it is not one. */
export function parseStatusMessage(bytes: Uint8Array, maxBytes: number): ParsedStatus {
  if (!(bytes.byteLength <= maxBytes)) {
    return { ok: false, detail: `status message is ${bytes.byteLength} bytes, limit ${maxBytes}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(bytes));
  } catch {
    return { ok: false, detail: "status message is not UTF-8 JSON" };
  }
  if (tooDeepAt(body) !== undefined) {
    return { ok: false, detail: `status message is nested deeper than ${MAX_JSON_DEPTH}` };
  }
  const fields = objectOf(body);
  if (!fields) return { ok: false, detail: "status message is not a JSON object" };
  if (fields["method"] !== "update_topo") {
    return { ok: false, detail: `status method is not update_topo: ${String(fields["method"])}` };
  }
  const data = objectOf(fields["data"]) ?? {};
  const subs: UpdateTopo["sub_devices"] = [];
  const seen = new Set<string>();
  for (const item of Array.isArray(data["sub_devices"]) ? data["sub_devices"] : []) {
    const sub = objectOf(item);
    const sn = sub?.["sn"];
    // An item without a usable serial names no device we could list.
    if (!sub || typeof sn !== "string" || !SERIAL.test(sn) || seen.has(sn)) continue;
    seen.add(sn);
    subs.push({ device_id: sn, ...productOf(sub) });
  }
  const text = (v: unknown) => typeof v === "string" && v.length > 0 ? v : undefined;
  const tid = text(fields["tid"]);
  const bid = text(fields["bid"]);
  return {
    ok: true,
    topo: {
      ...(tid ? { tid } : {}),
      ...(bid ? { bid } : {}),
      gateway: productOf(data),
      sub_devices: subs,
    },
  };
}

/** The topic a gateway's status_reply goes to. */
export function statusReplyTopic(gateway: string): string {
  return `sys/product/${gateway}/status_reply`;
}

/** The answer to an `update_topo`: without it the device keeps sending it (PROTOCOL §8.1). */
export function buildStatusReply(
  o: { tid?: string; bid?: string; timestamp: number },
): Record<string, unknown> {
  return {
    tid: o.tid ?? "",
    bid: o.bid ?? "",
    timestamp: o.timestamp,
    method: "update_topo",
    data: { result: 0 },
  };
}

const GATEWAY_KEYS = ['"gateway":"', '"gateway": "'].map((k) => new TextEncoder().encode(k));
const QUOTE = 0x22;

/**
 * The envelope's `gateway` of a telemetry message, found without parsing it: an aircraft's `osd`
 * comes under its own serial over its gateway's connection, naming the gateway here (PROTOCOL
 * §8.2), and `osd` is the one message too frequent to parse. Undefined when absent or not a serial.
 */
export function envelopeGateway(bytes: Uint8Array): string | undefined {
  for (const key of GATEWAY_KEYS) {
    const at = indexOf(bytes, key);
    if (at < 0) continue;
    const start = at + key.length;
    let end = start;
    while (end < bytes.length && end - start <= 64 && bytes[end] !== QUOTE) end++;
    if (bytes[end] !== QUOTE) return undefined;
    const sn = new TextDecoder().decode(bytes.subarray(start, end));
    return SERIAL.test(sn) ? sn : undefined;
  }
  return undefined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** `data.firmware_version` of a `state` message (sent on change only, so parsing it is cheap). */
export function firmwareOfState(bytes: Uint8Array, maxBytes: number): string | undefined {
  if (!(bytes.byteLength <= maxBytes)) return undefined;
  try {
    const body = objectOf(JSON.parse(utf8.decode(bytes)));
    const v = objectOf(body?.["data"])?.["firmware_version"];
    return typeof v === "string" && v.length > 0 && v.length <= 64 ? v : undefined;
  } catch {
    return undefined;
  }
}
