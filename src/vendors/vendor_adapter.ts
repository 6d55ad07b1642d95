// The vendor seam: what the rest of Downlink asks of a device vendor (its catalog, payload
// validation, reply mapping, job progress, device requests and the wire the bridge speaks), and
// the shapes it answers in. DJI (src/vendors/dji) is the one implementation; the composition
// root (src/composition_root.ts) picks it.
import type { TSchema } from "@sinclair/typebox";
import type { CommandChannel } from "../command/channel.ts";
import type { ReplyOutcome } from "../command/reply_outcome.ts";

/** A vendor as the API, the shard and the bridge reach it. Pure and synchronous: every method
 * may run on a hot path (a reply, an accept) and allocates only what it returns. */
export interface VendorAdapter {
  /** The `vendor` of the commands it serves, e.g. `dji`. */
  readonly name: string;

  /** The catalog entry of a command type, or undefined when the vendor has none. */
  findCommand(method: string): CatalogEntry | undefined;
  /** Every command, sorted by method. */
  listCommands(): readonly CatalogEntry[];
  /** The payload schema of a command type (for OpenAPI and the catalog endpoint). */
  payloadSchema(method: string): TSchema | undefined;
  /** Checks a payload against its command type's contract; errors name the offending paths. */
  validatePayload(method: string, payload: unknown): PayloadValidation;
  /** A request body the API's documentation shows as its example. */
  readonly exampleCommand: Readonly<Record<string, unknown>>;

  /** The class of commands of which a dock runs one at a time, if `method` belongs to one. */
  exclusivityClassOf(method: string): ExclusivityClass | undefined;
  /** The same, as the device shard takes it: whether the class's job reports progress. */
  exclusivityOf(method: string): { class: string; progress: boolean } | undefined;
  /** The methods whose job may run on after its command finished. */
  readonly lastingJobMethods: readonly string[];

  /** What a device reply means for the command of type `commandType`. Never throws. */
  mapReply(commandType: string, reply: DeviceReply): ReplyOutcome;

  /** How a command's job progress is linked to it, from its type and payload. */
  progressLink(commandType: string, payload: unknown): ProgressLink | undefined;
  /** The keys an event names its job by (matched against the commands' progress links). */
  eventLinkKeys(event: DeviceEventMessage): string[];
  /** What an event says of its job. */
  readProgress(event: DeviceEventMessage): ProgressReading;
  /** The progress statuses that end a job reported by `progressEvent`. */
  terminalStatusesOf(progressEvent: string): readonly string[];
  /** The vendor's text for a result code, if it documents one. */
  describeResultCode(value: unknown): string | undefined;

  /** The answer Downlink gives a device request of `method` when no client answered in time. */
  autoAnswerOf(method: string): DeviceRequestAnswer | undefined;
  /** The device requests Downlink answers itself when no client has. */
  readonly autoAnsweredMethods: readonly string[];

  /** The vendor's MQTT side: what the bridge subscribes to, parses and sends. */
  readonly wire: VendorWire;
}

/** The vendor's messages on the broker. Parsing never throws: device bytes are untrusted. The
 * messages built here are objects the bridge sends as JSON. */
export interface VendorWire {
  /** MQTT filters of the devices' replies to commands (prefix `$share/<group>/` to share). */
  readonly replyTopics: readonly string[];
  /** The topic a device of `serial` answers a `services` command on (a `replyTopics` filter
   * matches it): the bridge's reply-path probes travel there under a serial no device has. */
  replyTopicOf(serial: string): string;
  /** The filter of the devices' events. */
  readonly eventsTopic: string;
  /** The filter of the devices' requests. */
  readonly requestsTopic: string;
  /** The filters whose every message proves a device alive. */
  readonly presenceTopics: readonly string[];

  /** The topic a command of `channel` is sent to `deviceId` on. */
  deviceTopic(channel: CommandChannel, deviceId: string): string;
  /** The message that carries a command to its device. */
  buildServicesEnvelope(
    o: { tid: string; bid: string; method: string; data: unknown; timestamp: number },
  ): object;
  parseDeviceReply(topic: string, bytes: Uint8Array, maxBytes: number): ParsedDeviceReply;

  parseDeviceEvent(topic: string, bytes: Uint8Array, maxBytes: number): ParsedDeviceEvent;
  eventsReplyTopic(gateway: string): string;
  /** The answer to an event that asks for one. */
  buildEventsReply(event: DeviceEventMessage, timestamp: number): object;

  parseDeviceRequest(topic: string, bytes: Uint8Array, maxBytes: number): ParsedDeviceRequest;
  requestsReplyTopic(gateway: string): string;
  buildRequestsReply(
    request: Pick<DeviceRequestMessage, "tid" | "bid" | "method">,
    answer: DeviceRequestAnswer,
    timestamp: number,
  ): object;

  /** The serial and channel of a presence topic, or undefined for any other topic. */
  presenceTopic(topic: string): { serial: string; channel: PresenceChannel } | undefined;
  /** A gateway's topology message (which devices it lists now). */
  parseStatusMessage(bytes: Uint8Array, maxBytes: number): ParsedStatus;
  statusReplyTopic(gateway: string): string;
  buildStatusReply(o: { tid?: string; bid?: string; timestamp: number }): object;
  /** The gateway a telemetry message names, read without parsing the whole message. */
  envelopeGateway(bytes: Uint8Array): string | undefined;
  /** The firmware version a state message reports, if it reports one. */
  firmwareOfState(bytes: Uint8Array, maxBytes: number): string | undefined;
}

/** Thing-model types (`double` is folded into `float`: both are JSON numbers). */
export type FieldType =
  | "text"
  | "int"
  | "float"
  | "bool"
  | "enum_int"
  | "enum_string"
  | "struct"
  | "array";

export interface CatalogField {
  /** Dotted path inside the payload; `[]` marks array items, e.g. `params.files[].list[].boot_index`. */
  readonly path: string;
  readonly type: FieldType;
  /** Item type of an `array` field, when DJI documents one. */
  readonly items?: FieldType;
  /** Documented enum keys: the only values accepted (an enum_int key as a number or its digits). */
  readonly enum?: readonly string[];
  /** The reference platform's pages mark it required (top-level fields only). */
  readonly required?: true;
  /** Documented range of an `int` or `float`, bounds included. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** Documented maximum length of a `text`. */
  readonly max_length?: number;
  /** Documented item counts of an `array`. */
  readonly min_items?: number;
  readonly max_items?: number;
}

export interface CatalogEntry {
  readonly method: string;
  /** Reference-platform grouping: device, camera, drc, wayline, psdk, safety, live, file, firmware. */
  readonly module: string;
  readonly channel: CommandChannel;
  readonly summary: string;
  readonly fields: readonly CatalogField[];
  /** Dotted paths whose values must never be stored or logged in plain text. */
  readonly secret_fields: readonly string[];
  /** The `events` method that reports this command's progress, when there is one. */
  readonly progress_event?: string;
  /** dock1, dock2, dock3, rc, rc_pro. */
  readonly devices: readonly string[];
}

export interface PayloadError {
  /** JSONPath rooted at the request body, e.g. `$.payload.credentials.expire`. */
  path: string;
  reason: string;
}

export type PayloadValidation = { ok: true } | { ok: false; errors: PayloadError[] };

export interface ExclusivityClass {
  name: string;
  /** Commands of the class: a second one fails on the dock while the first runs. */
  methods: readonly string[];
  /** What a dock answers it with (DJI's documented "busy" codes for the class). */
  busy_codes: readonly number[];
}

/** What one event says of its job. */
export interface ProgressReading {
  status: string;
  percent?: number;
  step?: string;
  result?: number;
  /** Per method: the files of an upload; the `ext` or the other fields of the event. */
  detail?: Record<string, unknown>;
}

/** The events method that reports `commandType`'s progress and the keys a command of that type
 * is found by, from its payload (its own `bid` is added by whoever knows it). Undefined for a
 * command whose progress DJI does not report. */
export interface ProgressLink {
  event: string;
  keys: string[];
}

/** A device's answer. `gateway` is the one the envelope claims; trust the topic's (see parseDeviceReply). */
export interface DeviceReply {
  tid?: string;
  bid?: string;
  method?: string;
  timestamp?: number;
  gateway?: string;
  data: unknown;
}

/** An event as the dock sent it; `gateway` is the topic's (the broker vouches for it). */
export interface DeviceEventMessage {
  tid?: string;
  bid?: string;
  method: string;
  /** The dock's own clock, epoch ms. */
  timestamp?: number;
  /** 1: the dock waits for an events_reply and sends the event again until it gets one. */
  need_reply: boolean;
  data: unknown;
}

/** A request as the dock sent it; `gateway` is the topic's (the broker vouches for it). */
export interface DeviceRequestMessage {
  tid: string;
  bid?: string;
  method: string;
  /** The dock's own clock, epoch ms. */
  timestamp?: number;
  /** `null` for a request without parameters (flight_areas_get). */
  data: unknown;
}

/** What Downlink answers: DJI's `{result, output}`. */
export interface DeviceRequestAnswer {
  result: number;
  output?: Record<string, unknown>;
}

/** What DJI says of a product: its enum (`domain`, `type`, `sub_type`) and the model name it
 * maps to where known. */
export interface ProductInfo {
  domain?: string;
  type?: number;
  sub_type?: number;
  model?: string;
}

/** A gateway's `update_topo`: itself and the sub-devices (aircraft) it lists now. */
export interface UpdateTopo {
  tid?: string;
  bid?: string;
  gateway: ProductInfo;
  sub_devices: Array<ProductInfo & { device_id: string }>;
}

export type ReplyParseFailure =
  | "TOO_LARGE"
  | "NOT_JSON"
  | "TOO_DEEP"
  | "NOT_AN_OBJECT"
  | "NO_TID"
  | "BAD_TOPIC";

export type ParsedDeviceReply =
  | { ok: true; gateway: string; channel: CommandChannel; reply: DeviceReply }
  | { ok: false; reason: ReplyParseFailure; detail: string; gateway?: string };

export type ParsedDeviceEvent =
  | { ok: true; gateway: string; event: DeviceEventMessage }
  | { ok: false; reason: string; detail: string; gateway?: string };

export type ParsedDeviceRequest =
  | { ok: true; gateway: string; request: DeviceRequestMessage }
  | { ok: false; reason: string; detail: string; gateway?: string };

/** What a presence topic says of its serial: `status`, `events` and `requests` come only from a
 * gateway (dock or RC); `osd` and `state` also from an aircraft, over its gateway's connection. */
export type PresenceChannel = "status" | "osd" | "state" | "events" | "requests";

export type ParsedStatus =
  | { ok: true; topo: UpdateTopo }
  | { ok: false; detail: string };
