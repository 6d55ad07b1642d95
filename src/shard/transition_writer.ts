// Group commit of command transitions: every transition recorded during one turn of the event
// loop goes to Postgres in one statement, together with the lifecycle events it reports (the
// event outbox). After the commit, the messages that caused it are acknowledged and its events
// are published, in order, until JetStream has stored them; their outbox rows are deleted with a
// later statement.
import {
  acceptedEventId,
  type LifecycleEvent,
  lifecycleEvent,
  storedEvent,
} from "../command/lifecycle_event.ts";
import { type EventPublisher, publishInOrder } from "../bus/event_publisher.ts";
import type { LifecycleStore, TransitionEvent, TransitionRow } from "../store/lifecycle_store.ts";
import type { EventOutbox, OutboxEvent } from "../store/event_outbox.ts";
import type { Logger } from "../runtime/log.ts";
import { type Clock, nextTurn } from "../async/time.ts";
import { exponential, retry } from "../async/retry.ts";
import {
  type CommandContext,
  type PersistedCommandSnapshot,
  statusOf,
  storedSnapshot,
  type TransitionKind,
} from "../../machines/command_machine.ts";

/** A command actor, read at commit time: its latest persisted snapshot is what gets stored. */
export interface SnapshotSource {
  id: string;
  getPersistedSnapshot(): unknown;
}

export interface TransitionWriter {
  /** A command actor took a transition: its row + snapshot go into the next commit. */
  record(ref: SnapshotSource, kind: TransitionKind, context: CommandContext): void;
  /** An event that reports no new state (a problem): committed with the next batch. */
  publish(event: LifecycleEvent): void;
  /** Publishes events committed to the outbox by another writer of this shard (a job's
   * progress), in line with this writer's own: a command's events then reach the stream in the
   * order their commits completed, and their outbox rows are deleted as this writer's are. */
  publishCommitted(events: OutboxEvent[]): void;
  /** Runs once everything recorded so far is committed (its events with it). */
  afterCommit(fn: () => void): void;
  /** Resolves when everything recorded so far is committed. */
  settled(): Promise<void>;
  /** True while a transition of the command is recorded and not yet committed. */
  uncommitted(commandId: string): boolean;
  /** Commits what is recorded, tries briefly to publish its events, and stops; events not
   * published stay in the outbox for the partition's next owner. */
  stop(): Promise<void>;
}

interface Batch {
  refs: Map<string, SnapshotSource>;
  records: Array<{ ref: SnapshotSource; kind: TransitionKind; context: CommandContext }>;
  events: LifecycleEvent[];
  after: Array<() => void>;
}

const newBatch = (): Batch => ({ refs: new Map(), records: [], events: [], after: [] });
const isEmpty = (b: Batch) =>
  b.records.length === 0 && b.events.length === 0 && b.after.length === 0;

/** Published events' outbox rows are deleted by the next commit; when none comes within this
 * long, by a statement of their own. */
const REMOVE_AFTER_MS = 200;
/** The waits between commits while Postgres is away. */
const COMMIT_BACKOFF = exponential(100, 5_000);
/** How long stop() waits for the last events to be stored. */
const STOP_PUBLISH_MS = 2_000;

export interface TransitionWriterOptions {
  store: LifecycleStore;
  outbox: EventOutbox;
  events: EventPublisher;
  /** The partition of a device: an event's outbox row is its device's partition's. */
  partitionOf(deviceId: string): number;
  clock: Clock;
  log: Logger;
  /** Counts what the shard reports (transitions, events, commit errors). */
  onMetric?: (name: string, n: number) => void;
  /** A batch was committed in `ms`. */
  onCommit?: (ms: number) => void;
}

export function createTransitionWriter(o: TransitionWriterOptions): TransitionWriter {
  let current = newBatch();
  let running: Promise<void> | null = null;
  let stopped = false;
  let stopping = false;
  // Events of batch N are published before those of batch N+1, so per command they stay in order.
  let publishing: Promise<void> = Promise.resolve();
  // Event ids stored in JetStream whose outbox rows are still to be deleted.
  let published: string[] = [];
  let removeTimer: unknown;
  // Commands with a transition recorded and not yet committed: batches on their way, by id.
  const waiting = new Map<string, number>();

  const schedule = () => {
    if (running || stopped) return;
    running = new Promise<void>((resolve) => nextTurn(resolve)).then(drain).finally(() => {
      running = null;
      if (!isEmpty(current)) schedule();
    });
  };

  async function drain(): Promise<void> {
    while (!isEmpty(current)) {
      const batch = current;
      current = newBatch();
      const snapshots = new Map<string, { value: unknown; context: CommandContext }>();
      for (const [id, ref] of batch.refs) snapshots.set(id, ref.getPersistedSnapshot() as never);
      const rows = toRows(snapshots, o.clock.now());
      const events = eventsOf(batch, snapshots);
      // A command's accepted event is stored before its first transition can happen (the relay
      // publishes it before dispatching; a restore publishes what the outbox holds first).
      const removing = published.concat(rows.map((r) => acceptedEventId(r.command_id)));
      published = [];
      o.clock.clearTimeout(removeTimer);
      let written;
      try {
        written = await retry(async () => {
          // Each attempt is timed alone: an outage's retries are not a slow commit.
          const started = o.clock.now();
          const w = await o.store.writeTransitions(rows, events, removing);
          o.onCommit?.(o.clock.now() - started);
          return w;
        }, {
          clock: o.clock,
          backoff: COMMIT_BACKOFF,
          giveUp: (err, attempt) => {
            // Nothing is acknowledged while Postgres is away: JetStream keeps the messages.
            o.log.error("lifecycle commit failed, retrying", { err, rows: rows.length, attempt });
            o.onMetric?.("commit_errors", 1);
            // Stopping gives up: nothing of the batch was acknowledged, so JetStream and the
            // broker give its messages to whoever drives the partition next.
            return stopped || stopping;
          },
        });
      } catch {
        return;
      }
      o.onMetric?.("transitions", rows.length);
      for (const id of batch.refs.keys()) {
        const n = waiting.get(id)! - 1;
        if (n === 0) waiting.delete(id);
        else waiting.set(id, n);
      }
      for (const fn of batch.after) fn();
      const committed = events.filter((e) => written.events.has(e.event_id));
      if (committed.length > 0) publishCommitted(committed);
    }
  }

  function publishCommitted(events: TransitionEvent[]): void {
    publishing = publishing.then(async () => {
      const stored = await publishInOrder(o.events, events, {
        clock: o.clock,
        log: o.log,
        stopped: () => stopped,
      });
      if (!stored) return;
      o.onMetric?.("events", events.length);
      for (const e of events) published.push(e.event_id);
      o.clock.clearTimeout(removeTimer);
      removeTimer = o.clock.setTimeout(removePublished, REMOVE_AFTER_MS);
    });
  }

  function removePublished(): void {
    const ids = published;
    published = [];
    o.outbox.remove(ids).catch((err) => {
      // Harmless: a restore would publish them again, and the stream drops the copies.
      o.log.warn("could not delete published events from the outbox", { err, events: ids.length });
    });
  }

  function toRows(
    snapshots: Map<string, { value: unknown; context: CommandContext }>,
    now: number,
  ): TransitionRow[] {
    const rows: TransitionRow[] = [];
    for (const snapshot of snapshots.values()) {
      const c = snapshot.context;
      rows.push({
        command_id: c.command_id,
        status: statusOf(snapshot),
        delivered_at: c.delivered_at,
        response_received_at: c.response_received_at,
        completed_at: c.completed_at,
        response_code: c.response_code,
        response_message: c.response_message,
        vendor_response: c.vendor_response,
        failure_code: c.failure_code,
        failure_reason: c.failure_reason,
        updated_at: now,
        snapshot: storedSnapshot(snapshot as PersistedCommandSnapshot),
      });
    }
    return rows;
  }

  /** The batch's events in order: each transition's (kept only if its row moves), then the
   * problems reported meanwhile (kept whatever the rows do). */
  function eventsOf(
    batch: Batch,
    snapshots: Map<string, { value: unknown; context: CommandContext }>,
  ): TransitionEvent[] {
    const now = o.clock.now();
    const out: TransitionEvent[] = [];
    const add = (event: LifecycleEvent, always: boolean) => {
      out.push({
        ...storedEvent(event),
        partition: event.device_id === undefined ? 0 : o.partitionOf(event.device_id),
        ...(always ? { always } : {}),
      });
    };
    for (const r of batch.records) {
      const status = r.kind === "delivered" ? "DELIVERED" : statusOf(snapshots.get(r.ref.id)!);
      if (r.kind === "late_reply") {
        add(
          lifecycleEvent("problem", r.context, status, now, {
            problem: "LATE_REPLY",
            detail: "the device replied after the command had timed out; reply kept",
          }),
          false,
        );
      } else add(lifecycleEvent(r.kind, r.context, status, now), false);
    }
    for (const e of batch.events) add(e, true);
    return out;
  }

  return {
    record(ref, kind, context) {
      if (!current.refs.has(ref.id)) waiting.set(ref.id, (waiting.get(ref.id) ?? 0) + 1);
      current.refs.set(ref.id, ref);
      current.records.push({ ref, kind, context });
      schedule();
    },
    publish(event) {
      current.events.push(event);
      schedule();
    },
    afterCommit(fn) {
      current.after.push(fn);
      schedule();
    },
    async settled() {
      while (running || !isEmpty(current)) {
        schedule();
        await running;
      }
    },
    publishCommitted,
    uncommitted: (id) => waiting.has(id),
    async stop() {
      stopping = true;
      await this.settled();
      let timer: unknown;
      await Promise.race([
        publishing,
        new Promise<void>((r) => timer = o.clock.setTimeout(r, STOP_PUBLISH_MS)),
      ]);
      o.clock.clearTimeout(timer);
      stopped = true;
      o.clock.clearTimeout(removeTimer);
      if (published.length > 0) removePublished();
    },
  };
}
