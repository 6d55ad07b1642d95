// Tells a waiting request that its command reached a terminal state, from the tenant's public
// `command.completed` events on core NATS. One subscription per tenant is shared by all of the
// tenant's waiters, so a thousand waiters cost one subscription, not a thousand.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { eventSubject } from "../command/lifecycle_event.ts";

export interface Watching {
  /** Resolves once the subscription is live on the server: read the command's state only
   * after it, or a completion between the read and the subscription would be missed. */
  ready: Promise<void>;
  /** Resolves when the command's completed event arrives (or the watch is closed). */
  completed: Promise<void>;
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

export function createCompletionWatch(nc: NatsConnection): CompletionWatch {
  const tenants = new Map<string, TenantEntry>();
  let closed = false;

  const entryFor = (tenantId: string): TenantEntry => {
    const existing = tenants.get(tenantId);
    if (existing) return existing;
    const waiters = new Map<string, Set<() => void>>();
    const sub = nc.subscribe(eventSubject(tenantId, "completed"), {
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
      if (closed) return { ready: Promise.resolve(), completed: Promise.resolve(), stop() {} };
      const entry = entryFor(tenantId);
      let wake!: () => void;
      const completed = new Promise<void>((resolve) => (wake = resolve));
      let set = entry.waiters.get(commandId);
      if (!set) entry.waiters.set(commandId, set = new Set());
      set.add(wake);
      entry.count++;
      let stopped = false;
      return {
        ready: entry.ready,
        completed,
        stop() {
          if (stopped) return;
          stopped = true;
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
