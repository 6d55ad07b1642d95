// Takes the docks' requests of the partitions this shard owns (the bridge stored each in
// JetStream): records each once with its device.request event (the event outbox), publishes the
// event, then acknowledges the JetStream message. A request sent again that was answered already
// is answered again. The shard also keeps the requests' times: Downlink answers the ones a dock
// waits on before a takeoff when no client has within the grace period, and expires the rest.
// Both are driven from the table (a sweep of the owned partitions: at each due time, which a
// schedule in memory knows, and every few seconds), so a restart or a partition moving loses
// none; one conditional update decides between Downlink and a client answering at once. The
// sweep also hands over answers whose answerer could not (it died, NATS was away).
import type { JsMsg } from "@nats-io/jetstream";
import type { RequestFact } from "../bus/messages.ts";
import { type EventPublisher, publishInOrder } from "../bus/event_publisher.ts";
import type { RequestReplySender } from "../bus/request_reply.ts";
import {
  deviceRequestEvent,
  type DeviceRequestRecord,
  newDeviceRequest,
  type RequestTiming,
  storedDeviceRequestEvent,
} from "../device/device_request.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import type { EventOutbox, OutboxEvent } from "../store/event_outbox.ts";
import type { DeviceRequestStore } from "../store/device_request_store.ts";
import { createDeadlineSchedule } from "./deadline_schedule.ts";
import { takeStreamMessage } from "../bus/stream_message.ts";
import type { Clock } from "../async/time.ts";
import type { Logger } from "../runtime/log.ts";

export interface DeviceRequestHost {
  /** A request fact from the partition's JetStream consumer: acked once recorded. */
  handle(msg: JsMsg): void;
  /** Resolves once the request is recorded (or, sent again, answered again). */
  take(fact: RequestFact): Promise<void>;
  /** The partition is now this shard's: its pending requests' times are scheduled, and a sweep
   * does what came due meanwhile. */
  restore(partition: number): Promise<void>;
  drop(partition: number): void;
  stop(): Promise<void>;
}

export interface DeviceRequestHostOptions {
  store: DeviceRequestStore;
  /** Which requests Downlink answers itself, and how: the request's vendor says (one stored
   * before requests recorded theirs: the first registered vendor). */
  vendors: Pick<VendorRegistry, "of">;
  outbox: EventOutbox;
  events: EventPublisher;
  replies: RequestReplySender;
  partitionOf(deviceId: string): number;
  timing: RequestTiming;
  clock: Clock;
  log: Logger;
  count?: (name: string, n?: number) => void;
  /** How often the owned partitions are swept whatever the schedule says (default 10 s). */
  sweepEveryMs?: number;
}

/** An answer not handed to the bridge this long after it was given is handed over by the sweep:
 * its answerer (an API process) normally does it within milliseconds. */
export const UNSENT_ANSWER_AFTER_MS = 5_000;

export function createDeviceRequestHost(o: DeviceRequestHostOptions): DeviceRequestHost {
  const sweepEveryMs = o.sweepEveryMs ?? 10_000;
  const partitions = new Set<number>();
  let stopped = false;
  // One request at a time, in arrival order.
  let taking: Promise<void> = Promise.resolve();
  let publishing: Promise<void> = Promise.resolve();
  let sweeping: Promise<void> | undefined;
  let sweepAgain = false;
  let periodic: unknown;

  // Keys `${request_id}:auto` and `${request_id}:expire`: a due key only asks for a sweep, which
  // reads what is due from the table (a request a client answered meanwhile is not there).
  const schedule = createDeadlineSchedule<string>({
    clock: o.clock,
    onDue: () => requestSweep(),
  });
  const scheduleTimes = (
    r: Pick<DeviceRequestRecord, "request_id" | "auto_answer_at" | "expires_at">,
  ) => {
    if (r.auto_answer_at !== undefined) schedule.set(`${r.request_id}:auto`, r.auto_answer_at);
    schedule.set(`${r.request_id}:expire`, r.expires_at);
  };

  const publish = (events: OutboxEvent[]) => {
    publishing = publishing.then(async () => {
      const stored = await publishInOrder(o.events, events, {
        clock: o.clock,
        log: o.log,
        stopped: () => stopped,
      });
      if (!stored) return; // the partition's next owner publishes what is left
      await o.outbox.remove(events.map((e) => e.event_id)).catch((err) =>
        o.log.warn("could not delete published device request events from the outbox", { err })
      );
    });
  };

  /** Hands an answer to the bridge, then notes it handed over. */
  async function sendAnswer(r: DeviceRequestRecord): Promise<void> {
    await o.replies.send(r);
    await o.store.markSent(r.request_id, o.clock.now());
  }

  async function record(fact: RequestFact): Promise<void> {
    const partition = o.partitionOf(fact.gateway);
    const request = newDeviceRequest(fact, partition, o.timing, o.vendors.of(fact.vendor));
    const event: OutboxEvent = {
      ...storedDeviceRequestEvent(deviceRequestEvent(request)),
      partition,
    };
    const outcome = await o.store.record(request, event);
    if (outcome.inserted) {
      o.count?.("device_requests");
      scheduleTimes(request);
      publish([event]);
      return;
    }
    const existing = outcome.existing;
    o.count?.("device_requests_repeated");
    // A copy JetStream delivered again after a take that committed and did not publish.
    if (outcome.eventPending) publish([event]);
    if (existing.status === "PENDING") scheduleTimes(existing);
    if (existing.status === "ANSWERED") {
      // Our answer was lost on its way: the same answer again. The fact's time names this copy,
      // so a JetStream redelivery of it makes the same message, which the stream drops.
      await o.replies.send(existing, String(fact.received_at));
      o.count?.("device_request_answers_repeated");
    } else {
      o.log.info("a request came again; it is not answered", {
        request_id: existing.request_id,
        gateway: existing.gateway_sn,
        method: existing.method,
        status: existing.status,
      });
    }
  }

  async function sweep(): Promise<void> {
    const owned = [...partitions];
    if (owned.length === 0) return;
    const now = o.clock.now();
    for (const due of await o.store.dueAutoAnswers(owned, now)) {
      const answer = o.vendors.of(due.vendor).autoAnswerOf(due.method);
      if (!answer) continue;
      const outcome = await o.store.answer(due.request_id, answer, { by: "downlink" }, now);
      // Otherwise a client answered first, or it expired: nothing to send.
      if (outcome.outcome !== "answered") continue;
      o.count?.("device_requests_auto_answered");
      await sendAnswer(outcome.record);
    }
    const expired = await o.store.expireDue(owned, now);
    if (expired.length > 0) o.count?.("device_requests_expired", expired.length);
    for (const r of await o.store.unsentAnswers(owned, now - UNSENT_ANSWER_AFTER_MS)) {
      o.count?.("device_request_answers_handed_over");
      await sendAnswer(r);
    }
  }

  /** Runs a sweep now, or once more after the one running. */
  function requestSweep(): void {
    if (stopped) return;
    if (sweeping) {
      sweepAgain = true;
      return;
    }
    sweeping = sweep().catch((err) => {
      o.count?.("device_request_sweep_errors");
      o.log.warn("device request sweep failed; the next one tries again", { err });
    }).finally(() => {
      sweeping = undefined;
      if (sweepAgain) {
        sweepAgain = false;
        requestSweep();
      }
    });
  }

  const tick = () => {
    periodic = o.clock.setTimeout(() => {
      requestSweep();
      tick();
    }, sweepEveryMs);
  };
  tick();

  const take = (fact: RequestFact): Promise<void> => {
    const done = taking.then(() => record(fact));
    taking = done.catch(() => {});
    return done;
  };

  return {
    take,
    handle(msg) {
      takeStreamMessage<RequestFact>(msg, {
        log: o.log,
        what: "request fact",
        take,
        failed(err) {
          o.count?.("device_request_errors");
          o.log.warn("could not record a device request; it will come again", { err });
        },
      });
    },
    async restore(partition) {
      partitions.add(partition);
      for (const r of await o.store.pending(partition)) scheduleTimes(r);
      requestSweep();
    },
    drop(partition) {
      // Its scheduled times stay: they only ask for sweeps, which skip a partition not owned.
      partitions.delete(partition);
    },
    async stop() {
      stopped = true;
      o.clock.clearTimeout(periodic);
      schedule.clear();
      await taking;
      await sweeping;
      await publishing;
    },
  };
}
