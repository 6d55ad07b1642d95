// `events watch`: a command's, a device's or a tenant's lifecycle events as they are published
// on the JetStream stream DOWNLINK_EVENTS, one readable line each (or the raw JSON).
import { DeliverPolicy, jetstream, type OrderedConsumerOptions } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { EVENTS_STREAM } from "../bus/subjects.ts";
import { type EventKind, eventSubject, type LifecycleEvent } from "../command/lifecycle_event.ts";
import { CLIENT_FILES, resolveCredentials } from "./api_credentials.ts";
import { type ApiCommand, UsageError } from "./api_commands.ts";
import { eventLine } from "./lifecycle_lines.ts";
import { systemClock } from "../async/time.ts";

const DURATION = /^(\d+)(s|m|h)$/;

/** `--since`: an RFC 3339 time, or a duration back from now (`90s`, `15m`, `2h`). */
export function sinceTime(value: string, now = systemClock.now()): string {
  const d = DURATION.exec(value);
  if (d) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[d[2] as "s" | "m" | "h"];
    return new Date(now - Number(d[1]) * unit).toISOString();
  }
  if (Number.isNaN(Date.parse(value))) {
    throw new UsageError(`--since must be a time (RFC 3339) or 90s, 15m, 2h; got ${value}`);
  }
  return new Date(value).toISOString();
}

/** The tenant from --tenant, else the client file's, if there is one. */
function tenantOf(o: Record<string, unknown>, env: Record<string, string | undefined>) {
  if (typeof o.tenant === "string") return o.tenant;
  try {
    return resolveCredentials({ "client-file": o["client-file"] as string | undefined }, env)
      .tenantId;
  } catch {
    return undefined;
  }
}

export const EVENTS_WATCH: ApiCommand = {
  spec: {
    description: "Prints lifecycle events from NATS JetStream as they are published. One " +
      "readable line each (stream DOWNLINK_EVENTS); --json prints each event as published.",
    options: {
      tenant: {
        value: "T",
        help: "only this tenant's events (default: the client file's tenant; without one, all)",
      },
      device: { value: "SN", help: "only this device's events" },
      command: { value: "ID", help: "only this command's events; stops after its outcome" },
      since: { value: "TIME", help: "start from this RFC 3339 time or 90s, 15m, 2h ago" },
      all: { help: "start from the oldest event the stream holds (default: new events only)" },
      count: { value: "N", help: "stop after N events" },
      nats: { value: "URL", help: "NATS server (NATS_URL; default nats://127.0.0.1:4222)" },
      "client-file": {
        value: "F",
        help: `client file whose tenant_id is the default tenant (default: ${CLIENT_FILES[0]})`,
      },
      json: { help: "print each event's JSON as published" },
    },
    notes: ["Stops on Ctrl-C, after --count events, or after --command's outcome."],
  },
  async run(o, positionals, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
    }
    const str = (name: string) => typeof o[name] === "string" ? o[name] as string : undefined;
    const count = str("count");
    if (count !== undefined && !/^[1-9]\d*$/.test(count)) {
      throw new UsageError(`--count must be a positive whole number, got ${count}`);
    }
    if (o.all === true && str("since") !== undefined) {
      throw new UsageError("give --all or --since, not both");
    }
    const tenant = tenantOf(o, io.env);
    const device = str("device");
    const command = str("command");
    const start: Partial<OrderedConsumerOptions> = o.all === true
      ? { deliver_policy: DeliverPolicy.All }
      : str("since") !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: sinceTime(str("since")!) }
      : { deliver_policy: DeliverPolicy.New };
    const url = str("nats") ?? io.env.NATS_URL ?? "nats://127.0.0.1:4222";

    // One attempt, no reconnect loop: a person watching wants the error now.
    const nc = await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: "downlink-cli-events",
      timeout: 3_000,
    }).catch((err) => {
      throw new Error(`cannot reach NATS at ${url} (--nats, NATS_URL): ${(err as Error).message}`);
    });
    try {
      const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
        // Every kind of the tenant's events: a subject wildcard in the kind's place.
        ...(tenant ? { filter_subjects: eventSubject(tenant, "*" as EventKind) } : {}),
        ...start,
      });
      const messages = await consumer.consume();
      const stop = () => messages.stop();
      io.signal?.addEventListener("abort", stop, { once: true });
      let seen = 0;
      try {
        for await (const m of messages) {
          const event = m.json<LifecycleEvent>();
          if (device !== undefined && event.device_id !== device) continue;
          if (command !== undefined && event.command_id !== command) continue;
          io.out(o.json === true ? m.string() : eventLine(event));
          seen++;
          if (count !== undefined && seen >= Number(count)) break;
          if (command !== undefined && event.event_type === "command.completed") break;
        }
      } finally {
        io.signal?.removeEventListener("abort", stop);
        messages.stop();
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
