// Group commit of command transitions: every transition recorded during one turn of the event
// loop goes to Postgres in one statement; only after the commit are its lifecycle events
// published and then the JetStream messages that caused it acknowledged.
import { setImmediate } from "node:timers";
import type { EventPublisher } from "../bus/event_publisher.ts";
import type { LifecycleStore, TransitionRow } from "../store/lifecycle_store.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../time.ts";
import {
  type CommandContext,
  type PersistedCommandSnapshot,
  statusOf,
  storedSnapshot,
  type TransitionKind,
} from "../../machines/command_machine.ts";
import { type EventKind, type LifecycleEvent, lifecycleEvent } from "../command/lifecycle_event.ts";

/** A command actor, read at commit time: its latest persisted snapshot is what gets stored. */
export interface SnapshotSource {
  id: string;
  getPersistedSnapshot(): unknown;
}

export interface TransitionWriter {
  /** A command actor took a transition: its row + snapshot go into the next commit. */
  record(ref: SnapshotSource, kind: TransitionKind, context: CommandContext): void;
  /** An event that reports no new state (a problem): published in order with the next batch. */
  publish(kind: EventKind, event: LifecycleEvent): void;
  /** Runs once everything recorded so far is committed and its events are stored. */
  afterCommit(fn: () => void): void;
  /** Resolves when everything recorded so far is committed and published. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

interface Batch {
  refs: Map<string, SnapshotSource>;
  records: Array<{ ref: SnapshotSource; kind: TransitionKind; context: CommandContext }>;
  events: Array<{ kind: EventKind; event: LifecycleEvent; command_id?: string }>;
  after: Array<() => void>;
}

const newBatch = (): Batch => ({ refs: new Map(), records: [], events: [], after: [] });
const isEmpty = (b: Batch) =>
  b.records.length === 0 && b.events.length === 0 && b.after.length === 0;

export interface TransitionWriterOptions {
  store: LifecycleStore;
  events: EventPublisher;
  clock: Clock;
  log: Logger;
  /** Counts what the shard reports (transitions, events, commit errors). */
  onMetric?: (name: string, n: number) => void;
}

export function createTransitionWriter(o: TransitionWriterOptions): TransitionWriter {
  let current = newBatch();
  let running: Promise<void> | null = null;
  let stopped = false;
  // Events of batch N are published before those of batch N+1, so per command they stay in order.
  let publishing: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (running || stopped) return;
    running = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).finally(() => {
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
      let applied = new Set<string>();
      for (let attempt = 0;; attempt++) {
        try {
          applied = await o.store.writeTransitions(rows);
          break;
        } catch (err) {
          // Nothing is acknowledged while Postgres is away: JetStream keeps the messages.
          o.log.error("lifecycle commit failed, retrying", { err, rows: rows.length, attempt });
          o.onMetric?.("commit_errors", 1);
          if (stopped) return;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
      o.onMetric?.("transitions", rows.length);
      const events = eventsOf(batch, snapshots, applied);
      const previous = publishing;
      publishing = previous.then(() => publishAll(events)).then(() => {
        for (const fn of batch.after) fn();
      });
    }
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

  function eventsOf(
    batch: Batch,
    snapshots: Map<string, { value: unknown; context: CommandContext }>,
    applied: Set<string>,
  ) {
    const out: Array<{ kind: EventKind; event: LifecycleEvent }> = [];
    for (const r of batch.records) {
      if (r.kind === "hosted" || !applied.has(r.context.command_id)) continue;
      const status = r.kind === "delivered" ? "DELIVERED" : statusOf(snapshots.get(r.ref.id)!);
      if (r.kind === "late_reply") {
        out.push({
          kind: "problem",
          event: lifecycleEvent("problem", r.context, status, o.clock.now(), {
            problem: "LATE_REPLY",
            detail: "the device replied after the command had timed out; reply kept",
          }),
        });
      } else {
        out.push({ kind: r.kind, event: lifecycleEvent(r.kind, r.context, status, o.clock.now()) });
      }
    }
    for (const e of batch.events) out.push(e);
    return out;
  }

  async function publishAll(events: Array<{ kind: EventKind; event: LifecycleEvent }>) {
    const results = await Promise.allSettled(events.map((e) => o.events.publish(e.kind, e.event)));
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r.status === "fulfilled") continue;
      // One retry (same event_id, so JetStream deduplicates); the state itself is committed.
      try {
        await o.events.publish(events[i].kind, events[i].event);
      } catch (err) {
        o.log.error("lifecycle event publish failed", {
          err,
          command_id: events[i].event.command_id,
          event_type: events[i].event.event_type,
        });
      }
    }
    o.onMetric?.("events", events.length);
  }

  return {
    record(ref, kind, context) {
      current.refs.set(ref.id, ref);
      current.records.push({ ref, kind, context });
      schedule();
    },
    publish(kind, event) {
      current.events.push({ kind, event });
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
      await publishing;
    },
    async stop() {
      await this.settled();
      stopped = true;
    },
  };
}
