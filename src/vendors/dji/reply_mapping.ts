// Maps a device's reply to the command's outcome and Query Response fields, exactly as the
// seed's "DJI Services Reply Mapping" and DESIGN's Lifecycle say. Pure; never throws.
import { describeValue } from "../../json/describe_value.ts";
import type { DeviceReply } from "./envelope.ts";
import { describeResultCode } from "./result_code_text.ts";

import type { ReplyOutcome } from "../../command/reply_outcome.ts";

export type { ReplyOutcome };

// Envelope keys of vendor_response. A data key of the same name is left out, so these always
// describe the envelope (DJI puts none of them in data).
const ENVELOPE_KEYS = ["tid", "bid", "method", "timestamp", "gateway"] as const;
const NAMED_DATA_KEYS = ["result", "code", "message", "output"] as const;

function isEnvelopeKey(key: string): boolean {
  return (ENVELOPE_KEYS as readonly string[]).includes(key);
}

function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as text for response_code / response_message; objects as JSON. */
function asText(value: unknown): string | undefined {
  if (!hasValue(value)) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    return describeValue(value);
  }
}

/** `{tid, bid, method, timestamp, gateway?, result, code?, message?, output?, ...other data keys}`, no empty keys. */
function vendorResponse(reply: DeviceReply, data: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ENVELOPE_KEYS) if (hasValue(reply[key])) out[key] = reply[key];
  if (isPlainObject(data)) {
    for (const key of NAMED_DATA_KEYS) if (hasValue(data[key])) out[key] = data[key];
    for (const [key, value] of Object.entries(data)) {
      if (hasValue(value) && !Object.hasOwn(out, key) && !isEnvelopeKey(key)) out[key] = value;
    }
  } else if (hasValue(data)) {
    // Not the documented shape, but the raw answer is still what the caller needs to see.
    out["data"] = data;
  }
  return out;
}

// An empty message says nothing; fall through to the next spelling.
function responseMessage(data: Record<string, unknown>): string | undefined {
  for (const key of ["message", "msg", "description"]) {
    const text = asText(data[key]);
    if (text) return text;
  }
  return undefined;
}

function isZero(value: unknown): boolean {
  return value === 0 || value === "0";
}

function mapReplyUnsafe(commandType: string, reply: DeviceReply): ReplyOutcome {
  const data = reply.data;
  const vendor_response = vendorResponse(reply, data);
  const object = isPlainObject(data) ? data : undefined;
  const outcome: Omit<ReplyOutcome, "status"> = { vendor_response };
  if (object) {
    const code = asText(hasValue(object["code"]) ? object["code"] : object["result"]);
    if (code !== undefined) outcome.response_code = code;
    const message = responseMessage(object);
    if (message !== undefined) outcome.response_message = message;
  }

  const unmatched: string[] = [];
  if (hasValue(reply.method) && reply.method !== commandType) {
    unmatched.push(
      `reply method ${describeValue(reply.method)} differs from command_type ${
        describeValue(commandType)
      }`,
    );
  }
  if (!object) {
    unmatched.push(`reply data is not an object, got ${describeValue(data)}`);
  } else if (!hasValue(object["result"]) && !hasValue(object["code"])) {
    const keys = Object.keys(object);
    unmatched.push(
      `reply data has neither result nor code (keys: ${
        keys.length > 0 ? keys.join(", ") : "none"
      })`,
    );
  }
  if (unmatched.length > 0) {
    return {
      status: "UNMATCHED_RESPONSE",
      ...outcome,
      failure_code: "UNMATCHED_RESPONSE",
      failure_reason: `Device response could not be correlated: ${unmatched.join("; ")}`,
    };
  }

  // `result` decides; `code` only where `result` is absent (DESIGN, Lifecycle).
  const decidingKey = hasValue(object!["result"]) ? "result" : "code";
  const deciding = object![decidingKey];
  if (isZero(deciding)) return { status: "SUCCEEDED", ...outcome };
  // DJI's documented text for the code says why; a device's own message (not DJI's MQTT
  // convention) stays in response_message. Only a value that is no result code keeps our words.
  const said = outcome.response_message ? `: ${outcome.response_message}` : "";
  return {
    status: "FAILED",
    ...outcome,
    failure_code: "DEVICE_EXECUTION_FAILED",
    failure_reason: describeResultCode(deciding) ??
      `Device returned ${decidingKey} ${describeValue(deciding)}${said}`,
  };
}

/**
 * The outcome of `reply` for a command of `commandType`: SUCCEEDED when `data.result` (or
 * `data.code` without a result) is 0, FAILED otherwise, UNMATCHED_RESPONSE when the reply's
 * method differs or its data carries neither result nor code.
 */
export function mapReply(commandType: string, reply: DeviceReply): ReplyOutcome {
  try {
    return mapReplyUnsafe(commandType, reply);
  } catch (error) {
    // Only reachable with hostile in-process input (getters, proxies); a state machine must never see a throw.
    const why = error instanceof Error ? error.message : String(error);
    return {
      status: "UNMATCHED_RESPONSE",
      vendor_response: {},
      failure_code: "UNMATCHED_RESPONSE",
      failure_reason: `Device response could not be read: ${why}`,
    };
  }
}
