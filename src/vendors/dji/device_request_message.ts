// A dock's `requests` message (thing/product/{gateway_sn}/requests) and the `requests_reply`
// that answers it (PROTOCOL §2.4, §8.4): the same envelope as services, the other way round; the
// answer echoes tid, bid and method with `data: {result, output}`. Parsing never throws: device
// bytes are untrusted.
import { describeValue } from "../../json/describe_value.ts";
import { readDeviceJson } from "./device_json.ts";
import type {
  DeviceRequestAnswer,
  DeviceRequestMessage,
  ParsedDeviceRequest,
} from "../vendor_adapter.ts";

export type { DeviceRequestAnswer, DeviceRequestMessage, ParsedDeviceRequest };

/** The MQTT filter a bridge subscribes to for requests (prefix `$share/<group>/` to share them). */
export const REQUESTS_TOPIC = "thing/product/+/requests";

export interface RequestsReply {
  tid: string;
  bid?: string;
  timestamp: number;
  method: string;
  data: DeviceRequestAnswer;
}

const GATEWAY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The gateway of a requests topic, or undefined when `topic` is none. */
export function requestsTopicGateway(topic: string): string | undefined {
  const parts = topic.split("/");
  if (parts.length !== 4 || parts[0] !== "thing" || parts[1] !== "product") return undefined;
  if (parts[3] !== "requests" || !GATEWAY.test(parts[2])) return undefined;
  return parts[2];
}

export function requestsReplyTopic(gateway: string): string {
  return `thing/product/${gateway}/requests_reply`;
}

const text = (v: unknown) => typeof v === "string" && v.length > 0 ? v : undefined;

function timestampOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return Number(value);
  return undefined;
}

/** Parses a message from a requests topic. A request without a tid or a method is refused: the
 * dock matches the answer by tid, and the answer must echo the method, so nothing could answer
 * it. */
export function parseDeviceRequest(
  topic: string,
  bytes: Uint8Array,
  maxBytes: number,
): ParsedDeviceRequest {
  const gateway = requestsTopicGateway(topic);
  if (!gateway) {
    return { ok: false, reason: "BAD_TOPIC", detail: `Not a DJI requests topic: ${topic}` };
  }
  const read = readDeviceJson(bytes, maxBytes, "Request");
  if (!read.ok) return { ...read, gateway };
  const f = read.fields;
  const method = text(f["method"]);
  if (!method || method.length > 128) {
    const detail = `Request method must be a string of 1-128 characters, got ${
      describeValue(f["method"])
    }`;
    return { ok: false, reason: "NO_METHOD", detail, gateway };
  }
  const tid = text(f["tid"]);
  if (!tid || tid.length > 128) {
    const detail = `Request tid must be a string of 1-128 characters, got ${
      describeValue(f["tid"])
    }`;
    return { ok: false, reason: "NO_TID", detail, gateway };
  }
  const bid = text(f["bid"]);
  const timestamp = timestampOf(f["timestamp"]);
  return {
    ok: true,
    gateway,
    request: {
      tid,
      ...(bid ? { bid } : {}),
      method,
      ...(timestamp !== undefined ? { timestamp } : {}),
      data: f["data"] ?? null,
    },
  };
}

/** DJI's requests_reply: the request's tid, bid and method, a fresh timestamp, the answer. */
export function buildRequestsReply(
  request: Pick<DeviceRequestMessage, "tid" | "bid" | "method">,
  answer: DeviceRequestAnswer,
  timestamp: number,
): RequestsReply {
  return {
    tid: request.tid,
    ...(request.bid ? { bid: request.bid } : {}),
    timestamp,
    method: request.method,
    data: {
      result: answer.result,
      ...(answer.output !== undefined ? { output: answer.output } : {}),
    },
  };
}
