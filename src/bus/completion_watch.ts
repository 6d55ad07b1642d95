// Tells a waiting request that its command reached a terminal state, from the tenant's public
// `command.completed` events on core NATS (or, for a wait ?until=finished, that its job reported
// progress, from `command.progress`). One subscription per tenant is shared by all of the
// tenant's waiters, so a thousand waiters cost one subscription, not a thousand.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { type EventKind, eventSubject } from "../command/lifecycle_event.ts";

export interface Watching {
  /** Resolves once the subscription is live on the server: read the command's state only
   * after it, or a completion between the read and the subscription would be missed. */
  ready: Promise<void>;
  /** Resolves when the command's completed event arrives (or the watch is closed). */
  completed: Promise<void>;
  /** Resolves at the next event of the command, or at once when one came since the previous
   * call (or since the watch began): an event that arrives while the caller reads Postgres is
   * not missed. False once the watch is closed or stopped: nothing more will come. */
  changed(): Promise<boolean>;
  /** Stops listening; the tenant's subscription ends with its last waiter. */
  stop(): void;
}

export interface CompletionWatch {
  watch(tenantId: string, commandId: string): Watching;
  /** Wakes every waiter (they answer with the state they read) and unsubscribes: shutdown. */
  close(): void;
}

interface TenantEntry {
  sub: Subscription;
  ready: Promise<void>;
  waiters: Map<string, Set<() => void>>;
  count: number;
}

/** Watches `kind` events (default `completed`). */
export function createCompletionWatch(
  nc: NatsConnection,
  kind: EventKind = "completed",
): CompletionWatch {
  const tenants = new Map<string, TenantEntry>();
  let closed = false;

  const entryFor = (tenantId: string): TenantEntry => {
    const existing = tenants.get(tenantId);
    if (existing) return existing;
    const waiters = new Map<string, Set<() => void>>();
    const sub = nc.subscribe(eventSubject(tenantId, kind), {
      callback: (err, msg) => {
        if (err) return;
        let commandId: unknown;
        try {
          commandId = (msg.json() as { command_id?: unknown }).command_id;
        } catch {
          return; // not ours to judge: the event stream's consumers see it too
        }
        if (typeof commandId !== "string") return;
        for (const wake of waiters.get(commandId) ?? []) wake();
      },
    });
    const entry: TenantEntry = { sub, ready: nc.flush(), waiters, count: 0 };
    // A failed flush leaves the subscription in doubt: the next waiter starts afresh.
    entry.ready.catch(() => {
      if (tenants.get(tenantId) === entry) tenants.delete(tenantId);
    });
    tenants.set(tenantId, entry);
    return entry;
  };

  return {
    watch(tenantId, commandId) {
      if (closed) {
        return {
          ready: Promise.resolve(),
          completed: Promise.resolve(),
          changed: () => Promise.resolve(false),
          stop() {},
        };
      }
      const entry = entryFor(tenantId);
      let first!: () => void;
      const completed = new Promise<void>((resolve) => (first = resolve));
      let pending = false;
      let ending = false;
      let next: ((more: boolean) => void) | undefined;
      const wake = () => {
        first();
        if (next) {
          next(!closed && !ending);
          next = undefined;
        } else pending = true;
      };
      const changed = () => {
        if (closed || ending) return Promise.resolve(false);
        if (pending) {
          pending = false;
          return Promise.resolve(true);
        }
        return new Promise<boolean>((resolve) => (next = resolve));
      };
      let set = entry.waiters.get(commandId);
      if (!set) entry.waiters.set(commandId, set = new Set());
      set.add(wake);
      entry.count++;
      let stopped = false;
      return {
        ready: entry.ready,
        completed,
        changed,
        stop() {
          if (stopped) return;
          stopped = true;
          ending = true;
          wake();
          const mine = entry.waiters.get(commandId);
          mine?.delete(wake);
          if (mine?.size === 0) entry.waiters.delete(commandId);
          if (--entry.count === 0) {
            if (tenants.get(tenantId) === entry) tenants.delete(tenantId);
            if (!entry.sub.isClosed()) entry.sub.unsubscribe();
          }
        },
      };
    },
    close() {
      closed = true;
      for (const entry of tenants.values()) {
        for (const set of entry.waiters.values()) for (const wake of set) wake();
        if (!entry.sub.isClosed()) entry.sub.unsubscribe();
      }
      tenants.clear();
    },
  };
}
