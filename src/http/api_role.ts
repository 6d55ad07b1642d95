// The api role: the outbox relay and the HTTP server, built from the role context.
import type { Hono } from "hono";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { IN_PROCESS_OUTBOX_HOLD_SECONDS, startOutboxRelay } from "../bus/outbox_relay.ts";
import type { LocalShard } from "../local_link.ts";
import { createPostgresClientStore } from "../store/client_store.ts";
import { createPostgresCommandStore } from "../store/command_store.ts";
import { createCompletionWatch } from "../bus/completion_watch.ts";
import { watchConnection } from "../bus/connection_watch.ts";
import { createPostgresNonceStore } from "../store/nonce_store.ts";
import { createCachedClientLookup } from "./auth.ts";
import { createApp } from "./app.ts";
import type { ApiEnv } from "./commands.ts";
import type { Readiness } from "./health.ts";
import { serve } from "./serve.ts";
import { startEventLoopDelay } from "../event_loop_delay.ts";

export interface ApiRoleOptions {
  readiness: Readiness;
  /** Overrides config.port (0 = ephemeral). */
  port?: number;
  /** How long a client lookup is trusted (default 2 s). */
  clientCacheTtlMs?: number;
  /** Counters kept by other roles (e.g. `roleCounters({ shard: s.metrics })`), for /metrics. */
  metrics?: () => Record<string, number>;
  /** The shard of this process: it takes the commands of the partitions it hosts directly. */
  shard?: LocalShard;
}

export interface RunningApiRole extends RunningRole {
  port: number;
  app: Hono<ApiEnv>;
}

export async function startApiRole(
  ctx: RoleContext,
  opts: ApiRoleOptions,
): Promise<RunningApiRole> {
  const { config, log, clock, sql, nc, cipher } = ctx;
  const { shard } = opts;
  const relay = await startOutboxRelay(ctx, { shard });
  const nonces = createPostgresNonceStore(sql, { clock, log });
  const nats = watchConnection(nc);
  const completions = createCompletionWatch(nc);
  const eventLoopDelay = startEventLoopDelay();
  const app = createApp({
    config,
    log,
    clock,
    clients: createCachedClientLookup(createPostgresClientStore(sql, cipher), {
      clock,
      ttlMs: opts.clientCacheTtlMs,
    }),
    commands: createPostgresCommandStore(sql, cipher),
    nonces,
    nats,
    readiness: opts.readiness,
    completions,
    metrics: opts.metrics,
    eventLoopDelay,
    // The relay beside this API carries what it commits, from memory.
    onAccepted: (command) => relay.carry(command),
    outboxHoldSeconds: (partition) => shard?.hosts(partition) ? IN_PROCESS_OUTBOX_HOLD_SECONDS : 0,
  });
  let server;
  try {
    server = await serve(app.fetch, { port: opts.port ?? config.port, hostname: config.host });
  } catch (err) {
    eventLoopDelay.stop();
    completions.close();
    nats.close();
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
      eventLoopDelay.stop();
      await server.close();
      nats.close();
      await relay.stop();
      await nonces.close();
    },
  };
}
