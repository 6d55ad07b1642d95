// The checks every message a device sends goes through before its fields are read: size, UTF-8
// JSON, depth (before anything recursive sees it), and a JSON object at the top.
import { describeValue } from "../../json/describe_value.ts";
import { MAX_JSON_DEPTH, tooDeepAt } from "../../json/json_depth.ts";

export type DeviceJsonFailure = "TOO_LARGE" | "NOT_JSON" | "TOO_DEEP" | "NOT_AN_OBJECT";

export type DeviceJson =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; reason: DeviceJsonFailure; detail: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads `bytes` as one JSON object; `noun` ("Reply", "Event") starts each failure's detail. */
export function readDeviceJson(bytes: Uint8Array, maxBytes: number, noun: string): DeviceJson {
  // Written as "not within" so that a NaN limit rejects rather than admits everything.
  if (!(bytes.byteLength <= maxBytes)) {
    const detail = `${noun} is ${bytes.byteLength} bytes, limit is ${maxBytes}`;
    return { ok: false, reason: "TOO_LARGE", detail };
  }
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: "NOT_JSON", detail: `${noun} is not UTF-8 JSON: ${why}` };
  }
  const tooDeep = tooDeepAt(body);
  if (tooDeep !== undefined) {
    const detail = `${noun} is nested deeper than ${MAX_JSON_DEPTH} levels at ${tooDeep}`;
    return { ok: false, reason: "TOO_DEEP", detail };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    const detail = `${noun} must be a JSON object, got ${describeValue(body)}`;
    return { ok: false, reason: "NOT_AN_OBJECT", detail };
  }
  return { ok: true, fields: body as Record<string, unknown> };
}
