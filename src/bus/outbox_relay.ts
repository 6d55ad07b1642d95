// Carries committed commands from the Postgres outbox to JetStream: the `command.accepted`
// event, then the CommandDispatch to the device's shard, then deletes the outbox rows.
import { jetstream } from "@nats-io/jetstream";
import { v5 } from "uuid";
import type { RoleContext } from "../role_context.ts";
import { rfc3339 } from "../time.ts";
import type { CommandChannel } from "../vendors/dji/catalog.ts";
import type { CommandDispatch, LifecycleEvent } from "./messages.ts";

export interface OutboxRelayOptions {
  batchSize?: number;
  /** Safety-net poll interval: a wake-up lost with a process still gets carried. */
  pollMs?: number;
  /** JetStream publish timeout. */
  publishTimeoutMs?: number;
}

export interface OutboxRelay {
  /** Asks for a pass now (coalesced with one already running). */
  wake(): void;
  /** Runs passes until the outbox is empty (or a pass fails); resolves with rows carried. */
  drain(): Promise<number>;
  /** Rows this relay has carried since it started. */
  carried(): number;
  stop(): Promise<void>;
}

interface OutboxRow {
  command_id: string;
  tenant_id: string;
  client_id: string;
  vendor: string;
  device_id: string;
  command_type: string;
  channel: CommandChannel;
  partition: number;
  bid: string;
  timeout_seconds: number;
  accepted_at: Date;
  deadline_at: Date;
}

/** The accepted event's id is derived from the command id, so a re-publish after a crash is
 * deduplicated by JetStream like the dispatch is. */
export function acceptedEventId(commandId: string): string {
  return v5("command.accepted", commandId);
}

export function acceptedEvent(row: OutboxRow): LifecycleEvent {
  return {
    event_id: acceptedEventId(row.command_id),
    event_type: "command.accepted",
    command_id: row.command_id,
    tenant_id: row.tenant_id,
    client_id: row.client_id,
    vendor: row.vendor,
    device_id: row.device_id,
    command_type: row.command_type,
    status: "ACCEPTED",
    occurred_at: rfc3339(row.accepted_at),
    accepted_at: rfc3339(row.accepted_at),
    deadline_at: rfc3339(row.deadline_at),
  };
}

function dispatchOf(row: OutboxRow): CommandDispatch {
  return {
    kind: "command",
    command_id: row.command_id,
    tenant_id: row.tenant_id,
    client_id: row.client_id,
    vendor: row.vendor,
    device_id: row.device_id,
    command_type: row.command_type,
    channel: row.channel,
    bid: row.bid,
    timeout_seconds: row.timeout_seconds,
    accepted_at: row.accepted_at.getTime(),
    deadline_at: row.deadline_at.getTime(),
  };
}

type RelayContext = Pick<
  RoleContext,
  "sql" | "nc" | "names" | "events" | "log" | "clock" | "config"
>;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tells relays in other processes that the outbox has new rows. */
export function publishOutboxWake(
  ctx: Pick<RoleContext, "nc" | "names" | "config">,
): void {
  ctx.nc.publish(ctx.names.outboxWake, new TextEncoder().encode(ctx.config.instanceId));
}

/** Starts the relay; its first pass carries whatever a crash left in the outbox. */
export async function startOutboxRelay(
  ctx: RelayContext,
  { batchSize = 200, pollMs = 1_000, publishTimeoutMs = 5_000 }: OutboxRelayOptions = {},
): Promise<OutboxRelay> {
  const { sql, nc, names, events, log, clock } = ctx;
  const js = jetstream(nc, { timeout: publishTimeoutMs });
  const encoder = new TextEncoder();

  // One pass: lock a batch (other relays skip it), publish, delete, commit. A failure rolls
  // back, leaving the rows for the next pass; JetStream's msgID dedupes what was published.
  const pass = (): Promise<number> =>
    sql.begin(async (tx) => {
      const rows = await tx<OutboxRow[]>`
        select c.command_id, c.tenant_id, c.client_id, c.vendor, c.device_id, c.command_type,
               c.channel, c.partition, c.bid, c.timeout_seconds, c.accepted_at, c.deadline_at
        from command_outbox o join commands c on c.command_id = o.command_id
        order by o.created_at, o.command_id
        limit ${batchSize}
        for update of o skip locked`;
      if (rows.length === 0) return 0;
      // Pipelined, but every accepted event is stored before any dispatch is sent, so no
      // later event of a command can overtake its accepted event.
      await Promise.all(rows.map((r) => events.publish("accepted", acceptedEvent(r))));
      await Promise.all(rows.map((r) =>
        js.publish(
          names.commandSubject(r.partition, r.device_id),
          encoder.encode(JSON.stringify(dispatchOf(r))),
          { msgID: r.command_id },
        )
      ));
      await tx`delete from command_outbox where command_id = any(${
        rows.map((r) => r.command_id)
      }::uuid[])`;
      return rows.length;
    });

  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let failing = false;
  let carried = 0;

  const drain = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        do {
          again = false;
          for (;;) {
            if (stopped) break;
            const n = await pass();
            total += n;
            carried += n;
            if (n < batchSize) break;
          }
        } while (again && !stopped);
        if (failing) log.info("outbox relay recovered");
        failing = false;
      } catch (err) {
        if (!failing) log.warn("outbox relay pass failed; retrying", { err });
        failing = true;
      } finally {
        running = undefined;
      }
      return total;
    })();
    return running;
  };

  const wake = () => {
    if (!stopped) void drain();
  };

  // A wake-up from this process's own API already arrived as a direct call.
  const self = encoder.encode(ctx.config.instanceId);
  const sub = nc.subscribe(names.outboxWake, {
    callback: (_err, msg) => {
      if (!sameBytes(msg.data, self)) wake();
    },
  });
  let timer: unknown;
  const tick = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      wake();
      tick();
    }, pollMs);
  };
  tick();
  await drain();

  return {
    wake,
    drain,
    carried: () => carried,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      sub.unsubscribe();
      await running;
    },
  };
}
