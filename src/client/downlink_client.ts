// The signed HTTP layer of Downlink's client: one request, signed, its answer as status, headers
// and parsed body. Tests use it raw; command_client.ts builds the typed calls on it. Runs wherever
// fetch runs, and loads no node: module (the hashes come through signing_hashes.ts).
import { newNonce, signatureHeaders } from "../http/signing_recipe.ts";
import { type SigningHashes, signWith, webCryptoHashes } from "./signing_hashes.ts";
import type { DeviceView } from "../device/device_record.ts";
import type { DeviceRequestStatus, DeviceRequestView } from "../device/device_request.ts";
import type { DeviceRequestAnswer } from "../vendors/dji/device_request_message.ts";

export type { DeviceRequestAnswer, DeviceRequestView, DeviceView };

export const COMMANDS_PATH = "/api/v1/open/downlink/commands";
export const DEVICES_PATH = "/api/v1/open/downlink/devices";
export const DEVICE_REQUESTS_PATH = "/api/v1/open/downlink/device-requests";

/** Filters of GET /device-requests (scope open:device-request:read). */
export interface DeviceRequestListQuery {
  /** Only this gateway's requests. */
  device_id?: string;
  method?: string;
  /** One status, or a comma list. */
  status?: DeviceRequestStatus | string;
  limit?: number;
  cursor?: string;
}

export interface DeviceRequestList {
  items: DeviceRequestView[];
  next_cursor?: string;
}

/** Filters of GET /devices (scope open:device:read). */
export interface DeviceListQuery {
  online?: boolean;
  /** Devices whose id starts with this. */
  device_id?: string;
  limit?: number;
  /** The previous page's next_cursor. */
  cursor?: string;
}

export interface DeviceList {
  items: DeviceView[];
  next_cursor?: string;
}

export interface DownlinkClientOptions {
  baseUrl: string;
  clientId: string;
  secret: string;
  fetch?: typeof fetch;
  /** Unix seconds for X-Api-Timestamp (default: the system clock). */
  now?: () => number;
  /** SHA-256 and HMAC for signing (default: WebCrypto's crypto.subtle). */
  hashes?: SigningHashes;
}

export interface RequestOptions {
  /** An object is sent as JSON; a string or bytes are sent as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  nonce?: string;
  /** X-Api-Timestamp as sent (unix seconds). */
  timestamp?: string | number;
  /** Skip signing: send only `headers`. */
  unsigned?: boolean;
  signal?: AbortSignal;
}

export interface DownlinkResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the text. */
  body: T;
}

export interface CommandBody {
  vendor: string;
  device_id: string;
  command_type: string;
  idempotency_key: string;
  timeout_seconds?: number;
  payload?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface DownlinkClient {
  request<T = any>(
    method: string,
    path: string,
    options?: RequestOptions,
  ): Promise<DownlinkResponse<T>>;
  /** Sends `body` as JSON (a string is sent as it is, e.g. to test malformed input). */
  createCommand(
    body: CommandBody | Record<string, unknown> | string,
  ): Promise<DownlinkResponse<any>>;
  getCommand(commandId: string): Promise<DownlinkResponse<any>>;
  /** The devices the client's grants cover (body: DeviceList on 200, an error otherwise). */
  listDevices(query?: DeviceListQuery): Promise<DownlinkResponse<DeviceList>>;
  /** One device (body: DeviceView on 200; 404 DEVICE_NOT_FOUND when unknown or not granted). */
  getDevice(deviceId: string): Promise<DownlinkResponse<DeviceView>>;
  /** The docks' requests of the devices the client's grants cover, newest first. */
  listDeviceRequests(
    query?: DeviceRequestListQuery,
  ): Promise<DownlinkResponse<DeviceRequestList>>;
  /** One request (404 DEVICE_REQUEST_NOT_FOUND when unknown or its device not granted). */
  getDeviceRequest(requestId: string): Promise<DownlinkResponse<DeviceRequestView>>;
  /** Answers a request (scope open:device-request:create): 200 with the request answered, 409
   * DEVICE_REQUEST_ANSWERED or DEVICE_REQUEST_EXPIRED when it cannot be answered any more. */
  replyToDeviceRequest(
    requestId: string,
    answer: DeviceRequestAnswer,
  ): Promise<DownlinkResponse<DeviceRequestView>>;
}

function withQuery(path: string, query: object): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

export function createDownlinkClient(options: DownlinkClientOptions): DownlinkClient {
  const { clientId, secret } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const encoder = new TextEncoder();
  let hashes = options.hashes;

  const request = async <T>(
    method: string,
    pathAndQuery: string,
    opts: RequestOptions = {},
  ): Promise<DownlinkResponse<T>> => {
    const bytes = opts.body === undefined
      ? new Uint8Array(0)
      : opts.body instanceof Uint8Array
      ? opts.body
      : encoder.encode(typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body));
    const q = pathAndQuery.indexOf("?");
    const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
    const query = q < 0 ? "" : pathAndQuery.slice(q + 1);
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (!opts.unsigned) {
      const input = {
        method,
        path,
        query,
        clientId,
        timestamp: String(opts.timestamp ?? now()),
        nonce: opts.nonce ?? newNonce(),
        body: bytes,
      };
      // Resolved on first use: a client that only sends unsigned requests needs no crypto.
      hashes ??= webCryptoHashes();
      Object.assign(headers, signatureHeaders(input, await signWith(hashes, secret, input)));
    }
    Object.assign(headers, opts.headers);
    const res = await doFetch(baseUrl + pathAndQuery, {
      method,
      headers,
      body: opts.body === undefined ? undefined : (bytes as unknown as BodyInit),
      signal: opts.signal,
    });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") {
      body = JSON.parse(text);
    }
    return { status: res.status, headers: res.headers, body: body as T };
  };

  return {
    request,
    createCommand: (body) => request("POST", COMMANDS_PATH, { body }),
    getCommand: (commandId) => request("GET", `${COMMANDS_PATH}/${encodeURIComponent(commandId)}`),
    listDevices: (query = {}) => request("GET", withQuery(DEVICES_PATH, query)),
    getDevice: (deviceId) => request("GET", `${DEVICES_PATH}/${encodeURIComponent(deviceId)}`),
    listDeviceRequests: (query = {}) => request("GET", withQuery(DEVICE_REQUESTS_PATH, query)),
    getDeviceRequest: (requestId) =>
      request("GET", `${DEVICE_REQUESTS_PATH}/${encodeURIComponent(requestId)}`),
    replyToDeviceRequest: (requestId, answer) =>
      request("POST", `${DEVICE_REQUESTS_PATH}/${encodeURIComponent(requestId)}/reply`, {
        body: answer,
      }),
  };
}
