// The api role: the outbox relay and the HTTP server, built from the role context.
import { watchPressure } from "../bus/pressure_broadcast.ts";
import type { Hono } from "hono";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { startOutboxRelay } from "../bus/outbox_relay.ts";
import type { Link } from "../link/link.ts";
import { createPostgresClientStore } from "../store/client_store.ts";
import { createPostgresCommandStore } from "../store/command_store.ts";
import { createCompletionWatch } from "../bus/completion_watch.ts";
import { watchConnection } from "../bus/connection_watch.ts";
import { createPostgresNonceStore } from "../store/nonce_store.ts";
import { createPostgresGate, type PostgresGate } from "../store/postgres_gate.ts";
import { createDeviceReader, type DeviceReader } from "../store/device_list.ts";
import type { Sql } from "../store/db.ts";
import {
  createDeviceRequestReader,
  createDeviceRequestStore,
} from "../store/device_request_store.ts";
import { createRequestReplySender } from "../bus/request_reply.ts";
import { createCachedClientLookup } from "./auth.ts";
import { createApp } from "./app.ts";
import type { ApiEnv } from "./api_env.ts";
import type { Readiness } from "./health.ts";
import { serve } from "./serve.ts";
import { startEventLoopDelay } from "../runtime/event_loop_delay.ts";
import type { Histogram } from "../runtime/metrics.ts";

export interface ApiRoleOptions {
  /** Checks of the dependencies other than Postgres (the role checks Postgres through its gate,
   * and names it first). */
  readiness: Readiness;
  /** A pool of its own for the readiness probe of Postgres (one connection is enough); the role
   * ends it when it stops. */
  probeSql: Sql;
  /** Overrides config.port (0 = ephemeral). */
  port?: number;
  /** How long a client lookup is trusted (default 2 s). */
  clientCacheTtlMs?: number;
  /** Counters kept by other roles (e.g. `roleCounters({ shard: s.metrics })`), for /metrics. */
  metrics?: () => Record<string, number>;
  /** The shard of this process: how far behind it is (new commands wait while it is). */
  pressure?: {
    overloaded(): string | undefined;
    gauges(): Record<string, number>;
    histograms: readonly Histogram[];
  };
  /** What carries a committed command to its shard. */
  link: Pick<Link, "dispatch" | "outboxHoldSeconds">;
}

export interface RunningApiRole extends RunningRole {
  port: number;
  app: Hono<ApiEnv>;
}

/** The registry's reads answer 503 within the deadline while Postgres is away, as every read of
 * the API does. */
function gatedDeviceReader(reader: DeviceReader, gate: PostgresGate): DeviceReader {
  return {
    listDevices: (grants, filter) => gate.run(() => reader.listDevices(grants, filter)),
    getDevice: (grants, id) => gate.run(() => reader.getDevice(grants, id)),
  };
}

export async function startApiRole(
  ctx: RoleContext,
  opts: ApiRoleOptions,
): Promise<RunningApiRole> {
  const { config, log, clock, sql, nc, cipher } = ctx;
  const { link, probeSql } = opts;
  const relay = await startOutboxRelay(ctx, { link });
  // The API's statements answer 503 within the deadline while Postgres is away (the relay's and
  // the shard's are not gated: they wait and retry). Its clock is the host's real one, even
  // where a test moves `clock` by hand: it is compared with Postgres' clock.
  const gate = createPostgresGate(sql, {
    log,
    probeSql,
    deadlineMs: config.dbDeadlineMs,
    maxQueued: config.dbQueueLimit,
  });
  const nonces = createPostgresNonceStore(sql, { clock, log, gate });
  const clientStore = createPostgresClientStore(sql, cipher);
  const nats = watchConnection(nc);
  const completions = createCompletionWatch(nc);
  const progress = createCompletionWatch(nc, "progress");
  const shards = watchPressure(nc, ctx.names.pressureSubject, {
    clock,
    ...(opts.pressure ? { self: config.instanceId } : {}),
  });
  const eventLoopDelay = startEventLoopDelay();
  const requestStore = createDeviceRequestStore(sql);
  const requestReader = createDeviceRequestReader(sql);
  const requestReplies = createRequestReplySender(ctx.publisher, ctx.names);
  const app = createApp({
    config,
    log,
    clock,
    clients: createCachedClientLookup({
      findCredentials: (clientId) => gate.run(() => clientStore.findCredentials(clientId)),
    }, {
      clock,
      ttlMs: opts.clientCacheTtlMs,
    }),
    commands: createPostgresCommandStore(sql, cipher, { gate }),
    vendors: ctx.vendors,
    devices: gatedDeviceReader(createDeviceReader(sql), gate),
    deviceRequests: {
      listRequests: (grants, filter) => gate.run(() => requestReader.listRequests(grants, filter)),
      getRequest: (grants, id) => gate.run(() => requestReader.getRequest(grants, id)),
      answer: (id, answer, by, now) => gate.run(() => requestStore.answer(id, answer, by, now)),
    },
    async handOverAnswer(record) {
      await requestReplies.send(record);
      await requestStore.markSent(record.request_id, clock.now());
    },
    nonces,
    nats,
    readiness: async () => ({ postgres: await gate.check(), ...await opts.readiness() }),
    completions,
    progress,
    metrics: opts.metrics,
    // This process's shard first, then what the other shards say.
    overloaded: () => opts.pressure?.overloaded() ?? shards.overloaded(),
    pipelineGauges: opts.pressure && (() => opts.pressure!.gauges()),
    pipelineHistograms: opts.pressure?.histograms,
    eventLoopDelay,
    // The relay beside this API carries what it commits, from memory.
    onAccepted: (command) => relay.carry(command),
    outboxHoldSeconds: (partition) => link.outboxHoldSeconds(partition),
  });
  let server;
  try {
    server = await serve(app.fetch, {
      port: opts.port ?? config.port,
      hostname: config.host,
      clock,
    });
  } catch (err) {
    eventLoopDelay.stop();
    shards.close();
    completions.close();
    progress.close();
    nats.close();
    gate.close();
    await probeSql.end({ timeout: 1 });
    await relay.stop();
    await nonces.close();
    throw err;
  }
  log.info("api listening", { port: server.port });
  return {
    port: server.port,
    app,
    async stop() {
      // Waiting requests answer now with the state they read, so closing does not wait on them.
      completions.close();
      progress.close();
      shards.close();
      eventLoopDelay.stop();
      await server.close();
      nats.close();
      gate.close();
      await probeSql.end({ timeout: 1 });
      await relay.stop();
      await nonces.close();
    },
  };
}
