// Takes the docks' events of the partitions this shard owns (the bridge stored each in JetStream
// and answered it): links each to the command whose job it reports (same gateway, the command's
// progress method, a link key: bid, flight id, file key), records the job's progress with its
// command.progress event (the event outbox), then publishes and acknowledges the JetStream
// message; a terminal progress tells the device host that the job ended (its class is free). An event no command claims is kept as the device event
// `downlink.device.{gateway_sn}.event`.
import { v5 } from "uuid";
import type { JsMsg } from "@nats-io/jetstream";
import type { EventFact } from "../bus/messages.ts";
import { type EventPublisher, publishInOrder } from "../bus/event_publisher.ts";
import { dockEvent, eventFactId, storedDockEvent } from "../device/dock_event.ts";
import { lifecycleEvent, storedEvent } from "../command/lifecycle_event.ts";
import { nextProgress, progressView } from "../command/progress.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import type { EventOutbox, OutboxEvent } from "../store/event_outbox.ts";
import type { JobEventStore, LinkedCommand } from "../store/job_event_store.ts";
import type { Clock } from "../async/time.ts";
import type { Logger } from "../runtime/log.ts";
import { takeStreamMessage } from "../bus/stream_message.ts";

export interface JobEventHost {
  /** An event fact from the partition's JetStream consumer: acked once recorded. */
  handle(msg: JsMsg): void;
  /** Resolves once the event is recorded (its public events then published). */
  take(fact: EventFact): Promise<void>;
  stop(): Promise<void>;
}

export interface JobEventHostOptions {
  store: JobEventStore;
  /** How an event names its job and what it says of it: the adapter of the vendor whose wire
   * carried it. */
  vendors: Pick<VendorRegistry, "of">;
  outbox: EventOutbox;
  events: EventPublisher;
  partitionOf(deviceId: string): number;
  clock: Clock;
  log: Logger;
  count?: (name: string, n?: number) => void;
  /** Publishes committed command.progress events in line with the command's lifecycle events
   * (the transition writer's publishCommitted); without it, they are published here. */
  publishInLine?: (events: OutboxEvent[]) => void;
  /** The command's job reported its end (a terminal progress), committed: the next command of
   * its exclusivity class on the device may go. */
  onJobFinished?: (device_id: string, command_id: string) => void;
}

export function createJobEventHost(o: JobEventHostOptions): JobEventHost {
  let stopped = false;
  // One event at a time, in arrival order: a job's progress is recorded in the order it came.
  let taking: Promise<void> = Promise.resolve();
  let publishing: Promise<void> = Promise.resolve();

  const publish = (events: OutboxEvent[]) => {
    publishing = publishing.then(async () => {
      const stored = await publishInOrder(o.events, events, {
        clock: o.clock,
        log: o.log,
        stopped: () => stopped,
      });
      if (!stored) return; // the partition's next owner publishes what is left
      await o.outbox.remove(events.map((e) => e.event_id)).catch((err) =>
        o.log.warn("could not delete published device events from the outbox", { err })
      );
    });
  };

  /** The job's progress after `fact`, and its command.progress event when one is due. */
  async function recordProgress(fact: EventFact, command: LinkedCommand): Promise<void> {
    const vendor = o.vendors.of(fact.vendor);
    const reading = vendor.readProgress(fact.event);
    const failed = reading.result !== undefined && reading.result !== 0;
    const step = nextProgress(command.progress, {
      ...reading,
      ...(failed
        ? {
          failure_reason: vendor.describeResultCode(reading.result) ??
            `Device returned result ${reading.result}`,
        }
        : {}),
      ...(fact.event.timestamp !== undefined ? { device_timestamp: fact.event.timestamp } : {}),
      terminal: vendor.terminalStatusesOf(fact.event.method).includes(reading.status),
      at: fact.received_at,
    });
    if (!step.progress) {
      o.count?.("progress_unchanged");
      return;
    }
    const events: OutboxEvent[] = [];
    if (step.publish) {
      const event = {
        ...lifecycleEvent("progress", command, command.status, fact.received_at),
        // The same id for a redelivered fact: the outbox and the stream keep one.
        event_id: v5(command.command_id, eventFactId(fact)),
        progress: progressView(step.progress),
      };
      events.push({ ...storedEvent(event), partition: o.partitionOf(command.device_id) });
    }
    await o.store.recordProgress(command.command_id, step.progress, events);
    o.count?.("progress_recorded");
    if (step.progress.finished_at !== undefined) {
      o.onJobFinished?.(command.device_id, command.command_id);
    }
    if (events.length === 0) return;
    if (o.publishInLine) o.publishInLine(events);
    else publish(events);
  }

  async function record(fact: EventFact): Promise<void> {
    const command = await o.store.link(
      fact.gateway,
      fact.event.method,
      o.vendors.of(fact.vendor).eventLinkKeys(fact.event),
    );
    if (command) return await recordProgress(fact, command);
    const event: OutboxEvent = {
      ...storedDockEvent(dockEvent(fact)),
      partition: o.partitionOf(fact.gateway),
    };
    await o.store.recordEvents([event]);
    o.count?.("device_events_unlinked");
    publish([event]);
  }

  const take = (fact: EventFact): Promise<void> => {
    const done = taking.then(() => record(fact));
    taking = done.catch(() => {});
    return done;
  };

  return {
    take,
    handle(msg) {
      takeStreamMessage<EventFact>(msg, {
        log: o.log,
        what: "event fact",
        take,
        failed(err) {
          o.count?.("device_event_errors");
          o.log.warn("could not record a device event; it will come again", { err });
        },
      });
    },
    async stop() {
      await taking;
      stopped = true;
      await publishing;
    },
  };
}
