// A request a dock sent (thing/product/{gateway_sn}/requests) as Downlink keeps it: PENDING until
// a client answers it over the API or Downlink answers it itself (the requests a dock waits on
// before a takeoff, after a grace period), EXPIRED when nobody did in time (the dock has given
// up by then). Like the device events it has no tenant: a client sees the requests of the devices
// its grants cover. Its event `downlink.device.{gateway_sn}.request` says a new one came.
import { v5 } from "uuid";
import { deviceToken } from "../bus/subjects.ts";
import type { StoredEvent } from "../command/lifecycle_event.ts";
import type { RequestFact } from "../bus/messages.ts";
import type { DeviceRequestAnswer, VendorAdapter } from "../vendors/vendor_adapter.ts";
import { rfc3339 } from "../command/timestamp.ts";

export const DEVICE_REQUEST_STATUSES = ["PENDING", "ANSWERED", "EXPIRED"] as const;
export type DeviceRequestStatus = typeof DEVICE_REQUEST_STATUSES[number];

/** Who answered: a client over the API, or Downlink itself after the grace period. */
export type AnsweredBy = "client" | "downlink";

export interface DeviceRequestRecord {
  request_id: string;
  /** The vendor whose topic it came on; absent on requests stored before it was recorded. */
  vendor?: string;
  gateway_sn: string;
  partition: number;
  tid: string;
  bid?: string;
  method: string;
  /** The request's `data` as the dock sent it. */
  data: unknown;
  device_timestamp?: number;
  status: DeviceRequestStatus;
  /** Epoch ms, as the bridge received it. */
  received_at: number;
  /** When Downlink answers it itself if no client has (only for the methods it answers). */
  auto_answer_at?: number;
  /** When it expires unanswered. */
  expires_at: number;
  answered_at?: number;
  answered_by?: AnsweredBy;
  /** The client that answered. */
  client_id?: string;
  answer?: DeviceRequestAnswer;
  expired_at?: number;
}

/** A device request as the API answers it; a field with no value is left out. */
export interface DeviceRequestView {
  request_id: string;
  device_id: string;
  gateway_sn: string;
  method: string;
  tid: string;
  bid?: string;
  data: unknown;
  device_timestamp?: number;
  status: DeviceRequestStatus;
  received_at: string;
  auto_answer_at?: string;
  expires_at: string;
  answered_at?: string;
  answered_by?: AnsweredBy;
  client_id?: string;
  answer?: DeviceRequestAnswer;
  expired_at?: string;
}

const REQUEST_NAMESPACE = "8f3b2f0e-5d7a-4c61-b1e4-2a9c7d35e6f8";
const REQUEST_EVENT_NAMESPACE = "d41e7c0a-96b2-4f3d-8a55-0c7e2b9f1a63";

/** One id per gateway and tid: a dock that sends a request again (our answer was lost) sends the
 * same request, which is stored once and answered again. */
export function deviceRequestId(gatewaySn: string, tid: string): string {
  return v5(JSON.stringify([gatewaySn, tid]), REQUEST_NAMESPACE);
}

export interface RequestTiming {
  /** How long a request Downlink can answer waits for a client first. */
  graceMs: number;
  /** How long any request waits for an answer before it expires. */
  expiryMs: number;
}

/** The record of a request just received: PENDING, with its times. */
export function newDeviceRequest(
  fact: RequestFact,
  partition: number,
  timing: RequestTiming,
  vendor: Pick<VendorAdapter, "autoAnswerOf" | "name">,
): DeviceRequestRecord {
  const r = fact.request;
  const expires_at = fact.received_at + timing.expiryMs;
  // An auto-answer after the request expired would answer a dock that gave up.
  const auto = vendor.autoAnswerOf(r.method) && timing.graceMs < timing.expiryMs
    ? fact.received_at + timing.graceMs
    : undefined;
  return {
    request_id: deviceRequestId(fact.gateway, r.tid),
    vendor: vendor.name,
    gateway_sn: fact.gateway,
    partition,
    tid: r.tid,
    ...(r.bid ? { bid: r.bid } : {}),
    method: r.method,
    data: r.data ?? null,
    ...(r.timestamp !== undefined ? { device_timestamp: r.timestamp } : {}),
    status: "PENDING",
    received_at: fact.received_at,
    ...(auto !== undefined ? { auto_answer_at: auto } : {}),
    expires_at,
  };
}

export function deviceRequestView(r: DeviceRequestRecord): DeviceRequestView {
  return {
    request_id: r.request_id,
    device_id: r.gateway_sn,
    gateway_sn: r.gateway_sn,
    method: r.method,
    tid: r.tid,
    ...(r.bid ? { bid: r.bid } : {}),
    data: r.data ?? null,
    ...(r.device_timestamp !== undefined ? { device_timestamp: r.device_timestamp } : {}),
    status: r.status,
    received_at: rfc3339(r.received_at),
    ...(r.auto_answer_at !== undefined ? { auto_answer_at: rfc3339(r.auto_answer_at) } : {}),
    expires_at: rfc3339(r.expires_at),
    ...(r.answered_at !== undefined ? { answered_at: rfc3339(r.answered_at) } : {}),
    ...(r.answered_by ? { answered_by: r.answered_by } : {}),
    ...(r.client_id ? { client_id: r.client_id } : {}),
    ...(r.answer ? { answer: r.answer } : {}),
    ...(r.expired_at !== undefined ? { expired_at: rfc3339(r.expired_at) } : {}),
  };
}

/** The event of a new request: the request as it came, with its times. */
export interface DeviceRequestEvent {
  event_id: string;
  event_type: "device.request";
  device_id: string;
  gateway_sn: string;
  request_id: string;
  method: string;
  tid: string;
  bid?: string;
  data: unknown;
  device_timestamp?: number;
  auto_answer_at?: string;
  expires_at: string;
  occurred_at: string;
}

export function deviceRequestSubject(gatewaySn: string): string {
  return `downlink.device.${deviceToken(gatewaySn)}.request`;
}

export function deviceRequestEvent(r: DeviceRequestRecord): DeviceRequestEvent {
  return {
    // One per request: a copy (a JetStream redelivery, the dock sending it again) is the same
    // event, which the outbox and the stream's duplicate window keep once.
    event_id: v5(r.request_id, REQUEST_EVENT_NAMESPACE),
    event_type: "device.request",
    device_id: r.gateway_sn,
    gateway_sn: r.gateway_sn,
    request_id: r.request_id,
    method: r.method,
    tid: r.tid,
    ...(r.bid ? { bid: r.bid } : {}),
    data: r.data ?? null,
    ...(r.device_timestamp !== undefined ? { device_timestamp: r.device_timestamp } : {}),
    ...(r.auto_answer_at !== undefined ? { auto_answer_at: rfc3339(r.auto_answer_at) } : {}),
    expires_at: rfc3339(r.expires_at),
    occurred_at: rfc3339(r.received_at),
  };
}

export function storedDeviceRequestEvent(event: DeviceRequestEvent): StoredEvent {
  return {
    event_id: event.event_id,
    subject: deviceRequestSubject(event.gateway_sn),
    body: JSON.stringify(event),
  };
}
