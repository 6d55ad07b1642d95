// The public device events (`downlink.device.{gateway_sn}.online|offline|topology`): their
// shape and subjects. They have no tenant: a device has no owner, a client sees a device its
// grants cover. They share the events stream and the event outbox with the command events.
import { deviceToken } from "../bus/subjects.ts";
import type { StoredEvent } from "../command/lifecycle_event.ts";
import type { SubDeviceView } from "./device_record.ts";

export const DEVICE_EVENT_KINDS = ["online", "offline", "topology"] as const;
export type DeviceEventKind = typeof DEVICE_EVENT_KINDS[number];

/** The subjects of every device event (the events stream takes these). */
export const DEVICE_EVENT_SUBJECTS = ["downlink.device.*.*"];
const PREFIX = "downlink.device.";

export function deviceEventSubject(gatewaySn: string, kind: DeviceEventKind): string {
  return `${PREFIX}${deviceToken(gatewaySn)}.${kind}`;
}

/** A gateway's device event: its state after the change it reports. */
export interface DeviceEvent {
  event_id: string;
  event_type: `device.${DeviceEventKind}`;
  device_id: string;
  gateway_sn: string;
  online: boolean;
  model?: string;
  firmware?: string;
  sub_devices: SubDeviceView[];
  occurred_at: string;
}

export function storedDeviceEvent(event: DeviceEvent): StoredEvent {
  const kind = event.event_type.slice("device.".length) as DeviceEventKind;
  return {
    event_id: event.event_id,
    subject: deviceEventSubject(event.gateway_sn, kind),
    body: JSON.stringify(event),
  };
}

/** What keeps events in order when published: a device event's device (from its subject), or
 * undefined for any other event. */
export function deviceOfSubject(subject: string): string | undefined {
  if (!subject.startsWith(PREFIX)) return undefined;
  return subject.slice(PREFIX.length, subject.lastIndexOf("."));
}
