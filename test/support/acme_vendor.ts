// A second vendor defined only for tests ("acme"): its own topics (acme/{sn}/...), its own reply
// shape ({id, ok, code}) and its own reply mapping, registered beside DJI to prove that the
// vendor seam carries a vendor Downlink's code does not know.
import { Type } from "@sinclair/typebox";
import type {
  CatalogEntry,
  PayloadValidation,
  VendorAdapter,
} from "../../src/vendors/vendor_adapter.ts";

const BLINK: CatalogEntry = {
  method: "blink",
  module: "light",
  channel: "services",
  summary: "Blink the beacon `times` times",
  fields: [{ path: "times", type: "int", required: true, minimum: 1, maximum: 10 }],
  secret_fields: [],
  devices: ["acme-1"],
};
const BLINK_SCHEMA = Type.Object({ times: Type.Integer({ minimum: 1, maximum: 10 }) });

const decoder = new TextDecoder();
/** `acme/{sn}/{leaf}` → sn, or undefined. */
function serialOf(topic: string, leaf: string): string | undefined {
  const parts = topic.split("/");
  return parts.length === 3 && parts[0] === "acme" && parts[2] === leaf && parts[1] !== ""
    ? parts[1]
    : undefined;
}
function parseJson(bytes: Uint8Array, maxBytes: number): Record<string, unknown> | undefined {
  if (bytes.byteLength > maxBytes) return undefined;
  try {
    const v = JSON.parse(decoder.decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export const acmeAdapter: VendorAdapter = {
  name: "acme",
  findCommand: (method) => method === "blink" ? BLINK : undefined,
  listCommands: () => [BLINK],
  payloadSchema: (method) => method === "blink" ? BLINK_SCHEMA : undefined,
  validatePayload(_method, payload): PayloadValidation {
    const times = (payload as { times?: unknown }).times;
    return Number.isInteger(times) && (times as number) >= 1 && (times as number) <= 10
      ? { ok: true }
      : { ok: false, errors: [{ path: "$.payload.times", reason: "must be an integer 1-10" }] };
  },
  exampleCommand: { vendor: "acme", command_type: "blink", payload: { times: 2 } },
  exclusivityClassOf: () => undefined,
  exclusivityOf: () => undefined,
  lastingJobMethods: [],
  // Acme's replies say `ok` and a code of its own, nothing like DJI's `data.result`.
  mapReply(_commandType, reply) {
    const data = reply.data as { ok?: unknown; code?: unknown };
    const code = String(data?.code ?? "");
    return data?.ok === true
      ? { status: "SUCCEEDED", response_code: code, vendor_response: { acme_code: code } }
      : {
        status: "FAILED",
        response_code: code,
        vendor_response: { acme_code: code },
        failure_code: "DEVICE_ERROR",
        failure_reason: `Acme device refused: ${code}`,
      };
  },
  progressLink: () => undefined,
  eventLinkKeys: () => [],
  readProgress: () => ({ status: "unknown" }),
  terminalStatusesOf: () => [],
  describeResultCode: () => undefined,
  autoAnswerOf: () => undefined,
  autoAnsweredMethods: [],
  wire: {
    replyTopics: ["acme/+/ack"],
    replyTopicOf: (serial) => `acme/${serial}/ack`,
    eventsTopic: "acme/+/evt",
    requestsTopic: "acme/+/req",
    presenceTopics: ["acme/+/hello", "acme/+/evt", "acme/+/req"],
    deviceTopic: (_channel, deviceId) => `acme/${deviceId}/cmd`,
    buildServicesEnvelope: (o) => ({ id: o.tid, op: o.method, args: o.data }),
    parseDeviceReply(topic, bytes, maxBytes) {
      const gateway = serialOf(topic, "ack");
      if (!gateway) return { ok: false, reason: "BAD_TOPIC", detail: topic };
      const m = parseJson(bytes, maxBytes);
      if (!m) return { ok: false, reason: "NOT_JSON", detail: "not an acme reply", gateway };
      if (typeof m.id !== "string") {
        return { ok: false, reason: "NO_TID", detail: "no id", gateway };
      }
      return {
        ok: true,
        gateway,
        channel: "services",
        reply: { tid: m.id, data: { ok: m.ok, code: m.code } },
      };
    },
    parseDeviceEvent: (topic) => ({ ok: false, reason: "UNSUPPORTED", detail: topic }),
    eventsReplyTopic: (gateway) => `acme/${gateway}/evt_ack`,
    buildEventsReply: () => ({}),
    parseDeviceRequest: (topic) => ({ ok: false, reason: "UNSUPPORTED", detail: topic }),
    requestsReplyTopic: (gateway) => `acme/${gateway}/req_ack`,
    buildRequestsReply: () => ({}),
    presenceTopic(topic) {
      const serial = serialOf(topic, "hello");
      return serial ? { serial, channel: "status" } : undefined;
    },
    // A hello names no sub-devices: the device is its own gateway.
    parseStatusMessage: () => ({
      ok: true,
      topo: { gateway: { model: "acme-1" }, sub_devices: [] },
    }),
    statusReplyTopic: (gateway) => `acme/${gateway}/hello_ack`,
    buildStatusReply: (o) => ({ ok: true, at: o.timestamp }),
    envelopeGateway: () => undefined,
    firmwareOfState: () => undefined,
  },
};
