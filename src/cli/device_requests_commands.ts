// The CLI's `device-requests list|get|reply`: what docks asked the cloud (GET /device-requests)
// and a client's answer to one, through the typed client and the credentials of
// api_credentials.ts. Lines for people; --json for programs.
import type { DeviceRequestListQuery, DeviceRequestView } from "../client/downlink_client.ts";
import { CREDENTIAL_OPTIONS } from "./api_credentials.ts";
import { type ApiCommand, EXIT, UsageError } from "./api_commands.ts";
import {
  bodyOf,
  listingLimit,
  oneId,
  optionString as str,
  PAGE_NOTES,
  pageOptions,
  printPages,
  resourceClient,
} from "./resource_commands.ts";

/** One request as a line: id, gateway, method, status, and when it came or was answered. */
export function deviceRequestLine(r: DeviceRequestView): string {
  const what = r.status === "ANSWERED"
    ? `answered by ${r.answered_by} at ${r.answered_at} result=${r.answer?.result}`
    : r.status === "EXPIRED"
    ? `expired at ${r.expired_at}`
    : `expires at ${r.expires_at}` +
      (r.auto_answer_at ? `, Downlink answers at ${r.auto_answer_at}` : "");
  return `${r.request_id}  ${r.gateway_sn}  ${r.method}  ${r.status}  received ${r.received_at}  ${what}`;
}

const LIST: ApiCommand = {
  spec: {
    description: "Lists the requests docks sent, newest first, of the devices the client's " +
      "grants cover. One line each: request_id, gateway, method, status, times.",
    options: {
      device: { value: "SN", help: "only this gateway's requests" },
      method: { value: "METHOD", help: "only this method, e.g. storage_config_get" },
      status: { value: "S[,S]", help: "only these statuses: PENDING, ANSWERED, EXPIRED" },
      ...pageOptions("requests"),
      ...CREDENTIAL_OPTIONS,
    },
    notes: PAGE_NOTES,
  },
  async run(o, positionals, io) {
    const limit = listingLimit(o, positionals);
    const query: DeviceRequestListQuery = {
      ...(str(o, "device") !== undefined ? { device_id: str(o, "device") } : {}),
      ...(str(o, "method") !== undefined ? { method: str(o, "method") } : {}),
      ...(str(o, "status") !== undefined ? { status: str(o, "status") } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    const client = resourceClient(o, io.env);
    await printPages(
      o,
      io,
      (cursor) => client.listDeviceRequests({ ...query, ...(cursor ? { cursor } : {}) }),
      deviceRequestLine,
    );
    return EXIT.SUCCEEDED;
  },
};

const requestId = (positionals: string[], example: string) =>
  oneId(positionals, "request", example);

const GET: ApiCommand = {
  spec: {
    description: "Prints one device request as JSON (404 DEVICE_REQUEST_NOT_FOUND when unknown " +
      "or its device not granted).",
    arguments: "<request_id>",
    options: { ...CREDENTIAL_OPTIONS },
  },
  async run(o, positionals, io) {
    const id = requestId(positionals, "device-requests get 5f0d…");
    io.out(JSON.stringify(bodyOf(await resourceClient(o, io.env).getDeviceRequest(id)), null, 2));
    return EXIT.SUCCEEDED;
  },
};

const REPLY: ApiCommand = {
  spec: {
    description: "Answers a device request: the dock gets requests_reply with the request's " +
      "tid, bid and method and data {result, output}. Prints the request as answered (JSON).",
    arguments: "<request_id>",
    options: {
      result: { value: "N", help: "DJI's result, 0 for success (default 0)" },
      output: { value: "JSON", help: "the output the method asks for, a JSON object" },
      ...CREDENTIAL_OPTIONS,
    },
    notes: [
      "409 DEVICE_REQUEST_ANSWERED: it was answered already (by a client, or by Downlink);",
      "409 DEVICE_REQUEST_EXPIRED: it was not answered in time, the dock has given up.",
      "",
      "example:",
      "  npm run -s downlink -- device-requests reply 5f0d… \\",
      `    --output '{"bucket":"media","provider":"minio","endpoint":"https://minio.example"}'`,
    ],
  },
  async run(o, positionals, io) {
    const id = requestId(positionals, "device-requests reply 5f0d… --result 0");
    const resultText = str(o, "result") ?? "0";
    if (!/^-?\d+$/.test(resultText)) {
      throw new UsageError(`--result must be an integer, got ${JSON.stringify(resultText)}`);
    }
    let output: unknown;
    const outputText = str(o, "output");
    if (outputText !== undefined) {
      try {
        output = JSON.parse(outputText);
      } catch (err) {
        throw new UsageError(`--output is not JSON: ${(err as Error).message}`);
      }
      if (typeof output !== "object" || output === null || Array.isArray(output)) {
        throw new UsageError("--output must be a JSON object");
      }
    }
    const answered = bodyOf(
      await resourceClient(o, io.env).replyToDeviceRequest(id, {
        result: Number(resultText),
        ...(output !== undefined ? { output: output as Record<string, unknown> } : {}),
      }),
    );
    io.out(JSON.stringify(answered, null, 2));
    return EXIT.SUCCEEDED;
  },
};

export const DEVICE_REQUESTS_COMMANDS: Record<string, ApiCommand> = {
  "device-requests list": LIST,
  "device-requests get": GET,
  "device-requests reply": REPLY,
};
