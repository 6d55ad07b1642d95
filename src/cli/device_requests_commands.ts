// The CLI's `device-requests list|get|reply`: what docks asked the cloud (GET /device-requests)
// and a client's answer to one, through the typed client and the credentials of
// api_credentials.ts. Lines for people; --json for programs.
import { apiError } from "../client/api_errors.ts";
import {
  createDownlinkClient,
  type DeviceRequestListQuery,
  type DeviceRequestView,
  type DownlinkResponse,
} from "../client/downlink_client.ts";
import { CREDENTIAL_OPTIONS, resolveCredentials } from "./api_credentials.ts";
import { type ApiCommand, EXIT, type Options, UsageError } from "./api_commands.ts";

function ok<T>(res: DownlinkResponse<T>): T {
  if (res.status >= 200 && res.status < 300) return res.body;
  throw apiError(res.status, res.body, res.headers);
}

const str = (o: Options, name: string) => typeof o[name] === "string" ? o[name] : undefined;

function api(o: Options, env: Record<string, string | undefined>) {
  return createDownlinkClient(resolveCredentials(o as Record<string, string | undefined>, env));
}

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
      limit: { value: "N", help: "requests per page, 1-200 (default 50)" },
      cursor: { value: "C", help: "start after this page (a previous next_cursor)" },
      all: { help: "every page, not only the first" },
      json: { help: "print JSON (one object per line) instead of lines for people" },
      ...CREDENTIAL_OPTIONS,
    },
    notes: ["Without --all, a further page is announced on stderr with its --cursor."],
  },
  async run(o, positionals, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
    }
    const limit = str(o, "limit");
    if (limit !== undefined && !/^\d+$/.test(limit)) {
      throw new UsageError(`--limit must be a whole number, got ${JSON.stringify(limit)}`);
    }
    const query: DeviceRequestListQuery = {
      ...(str(o, "device") !== undefined ? { device_id: str(o, "device") } : {}),
      ...(str(o, "method") !== undefined ? { method: str(o, "method") } : {}),
      ...(str(o, "status") !== undefined ? { status: str(o, "status") } : {}),
      ...(limit !== undefined ? { limit: Number(limit) } : {}),
    };
    const client = api(o, io.env);
    let cursor = str(o, "cursor");
    do {
      const page = ok(
        await client.listDeviceRequests({ ...query, ...(cursor ? { cursor } : {}) }),
      );
      for (const r of page.items) {
        io.out(o.json === true ? JSON.stringify(r) : deviceRequestLine(r));
      }
      cursor = page.next_cursor;
      if (o.all !== true) {
        if (cursor) io.err(`more: add --cursor ${cursor} (or --all)`);
        break;
      }
    } while (cursor);
    return EXIT.SUCCEEDED;
  },
};

function requestId(positionals: string[], example: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`give the request id, e.g. ${example}`);
  if (positionals.length > 1) throw new UsageError(`one request id, got ${positionals.length}`);
  return id;
}

const GET: ApiCommand = {
  spec: {
    description: "Prints one device request as JSON (404 DEVICE_REQUEST_NOT_FOUND when unknown " +
      "or its device not granted).",
    arguments: "<request_id>",
    options: { ...CREDENTIAL_OPTIONS },
  },
  async run(o, positionals, io) {
    const id = requestId(positionals, "device-requests get 5f0d…");
    io.out(JSON.stringify(ok(await api(o, io.env).getDeviceRequest(id)), null, 2));
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
    const answered = ok(
      await api(o, io.env).replyToDeviceRequest(id, {
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
