// The api role: the outbox relay and the HTTP server, built from the role context.
import type { Hono } from "hono";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { createKvNonceCache } from "../bus/nonce_cache.ts";
import { publishOutboxWake, startOutboxRelay } from "../bus/outbox_relay.ts";
import { createPostgresClientStore } from "../store/client_store.ts";
import { createPostgresCommandStore } from "../store/command_store.ts";
import { createCachedClientLookup } from "./auth.ts";
import { createApp } from "./app.ts";
import type { ApiEnv } from "./commands.ts";
import type { Readiness } from "./health.ts";
import { serve } from "./serve.ts";

export interface ApiRoleOptions {
  readiness: Readiness;
  /** Overrides config.port (0 = ephemeral). */
  port?: number;
  /** How long a client lookup is trusted (default 2 s). */
  clientCacheTtlMs?: number;
}

const REMOTE_WAKE_EVERY_MS = 50;

export interface RunningApiRole extends RunningRole {
  port: number;
  app: Hono<ApiEnv>;
}

export async function startApiRole(
  ctx: RoleContext,
  opts: ApiRoleOptions,
): Promise<RunningApiRole> {
  const { config, log, clock, sql, nc, names, cipher } = ctx;
  const relay = await startOutboxRelay(ctx);
  const nonces = await createKvNonceCache(nc, names, { clock });
  let lastRemoteWake = -Infinity;
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
    readiness: opts.readiness,
    onAccepted: () => {
      relay.wake();
      // Relays in other processes hear this; throttled because a publish per command would
      // cost a socket write per request at 1,000 req/s for a wake-up they rarely need.
      const now = clock.now();
      if (now - lastRemoteWake < REMOTE_WAKE_EVERY_MS) return;
      lastRemoteWake = now;
      try {
        publishOutboxWake(ctx);
      } catch {
        // NATS down: the relays' polls carry the command once NATS is back.
      }
    },
  });
  let server;
  try {
    server = await serve(app.fetch, { port: opts.port ?? config.port, hostname: config.host });
  } catch (err) {
    await relay.stop();
    nonces.close();
    throw err;
  }
  log.info("api listening", { port: server.port });
  return {
    port: server.port,
    app,
    async stop() {
      await server.close();
      await relay.stop();
      nonces.close();
    },
  };
}
