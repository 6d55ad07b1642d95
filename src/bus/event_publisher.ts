// Publishes public lifecycle events to the JetStream events stream. Publishes on one
// connection keep their order, so events of one command arrive in the order they were sent.
import type { AckedPublisher } from "./acked_publisher.ts";
import {
  type EventKind,
  eventSubject,
  type LifecycleEvent,
  UNOWNED_PROBLEM_SUBJECT,
} from "../command/lifecycle_event.ts";

export interface EventPublisher {
  /** Resolves once JetStream has stored the event (deduplicated by event_id). */
  publish(kind: EventKind, event: LifecycleEvent): Promise<void>;
}

export function createEventPublisher(acked: AckedPublisher): EventPublisher {
  const encoder = new TextEncoder();
  return {
    publish(kind, event) {
      const subject = event.tenant_id
        ? eventSubject(event.tenant_id, kind)
        : UNOWNED_PROBLEM_SUBJECT;
      return acked.publish(subject, encoder.encode(JSON.stringify(event)), event.event_id);
    },
  };
}
