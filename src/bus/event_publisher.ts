// Publishes public lifecycle events to the JetStream events stream. Publishes on one
// connection keep their order, so events of one command arrive in the order they were sent.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import type { LifecycleEvent } from "./messages.ts";
import { type EventKind, eventSubject, UNOWNED_PROBLEM_SUBJECT } from "./subjects.ts";

export interface EventPublisher {
  /** Resolves once JetStream has stored the event (deduplicated by event_id). */
  publish(kind: EventKind, event: LifecycleEvent): Promise<void>;
}

export function createEventPublisher(nc: NatsConnection): EventPublisher {
  const js = jetstream(nc);
  const encoder = new TextEncoder();
  return {
    async publish(kind, event) {
      const subject = event.tenant_id
        ? eventSubject(event.tenant_id, kind)
        : UNOWNED_PROBLEM_SUBJECT;
      await js.publish(subject, encoder.encode(JSON.stringify(event)), { msgID: event.event_id });
    },
  };
}
