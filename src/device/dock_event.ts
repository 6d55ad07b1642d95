// A dock's event that no command claims (an HMS alarm, a media upload callback, progress of a
// job Downlink did not send), kept as the public device event
// `downlink.device.{gateway_sn}.event`. Like the other device events it has no tenant and shares
// the events stream and the event outbox.
import { v5 } from "uuid";
import { deviceToken } from "../bus/subjects.ts";
import type { StoredEvent } from "../command/lifecycle_event.ts";
import type { EventFact } from "../bus/messages.ts";
import { rfc3339 } from "../command/timestamp.ts";

export interface DockEvent {
  event_id: string;
  event_type: "device.event";
  device_id: string;
  gateway_sn: string;
  /** DJI's event method, e.g. `hms`, `file_upload_callback`. */
  method: string;
  tid?: string;
  bid?: string;
  need_reply: boolean;
  /** The event's `data` as the dock sent it. */
  data: unknown;
  /** The dock's own timestamp, epoch ms, when it sent one. */
  device_timestamp?: number;
  occurred_at: string;
}

export function dockEventSubject(gatewaySn: string): string {
  return `downlink.device.${deviceToken(gatewaySn)}.event`;
}

const DOCK_EVENT_NAMESPACE = "0c5a4f5e-8d1b-4b7e-a3c2-6f1e9d2b7a40";

/** The same id for every copy of one event message (a JetStream redelivery after a crash), so
 * the outbox and the stream's duplicate window keep one. */
export function eventFactId(fact: EventFact): string {
  return v5(JSON.stringify([fact.gateway, fact.event]), DOCK_EVENT_NAMESPACE);
}

export function dockEvent(fact: EventFact): DockEvent {
  const e = fact.event;
  return {
    event_id: eventFactId(fact),
    event_type: "device.event",
    device_id: fact.gateway,
    gateway_sn: fact.gateway,
    method: e.method,
    ...(e.tid ? { tid: e.tid } : {}),
    ...(e.bid ? { bid: e.bid } : {}),
    need_reply: e.need_reply,
    data: e.data ?? null,
    ...(e.timestamp !== undefined ? { device_timestamp: e.timestamp } : {}),
    occurred_at: rfc3339(fact.received_at),
  };
}

export function storedDockEvent(event: DockEvent): StoredEvent {
  return {
    event_id: event.event_id,
    subject: dockEventSubject(event.gateway_sn),
    body: JSON.stringify(event),
  };
}
