// The HTTP API as a hono app: request ids, health, the signed command endpoints, and the one
// error handler that turns every failure into the error envelope.
import { Hono } from "hono";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../time.ts";
import type { NonceCache } from "../bus/nonce_cache.ts";
import type { CommandStore } from "../store/command_store.ts";
import { type ClientLookup, signatureAuth } from "./auth.ts";
import { rawBody } from "./body.ts";
import { type ApiEnv, commandRoutes, COMMANDS_PATH } from "./commands.ts";
import { errorBody, errorHandler } from "./errors.ts";
import { healthRoutes, type Readiness } from "./health.ts";
import { requestId } from "./request_id.ts";

export interface AppDeps {
  config: Pick<Config, "defaultTimeoutSeconds" | "partitions">;
  log: Logger;
  clock: Clock;
  clients: ClientLookup;
  commands: CommandStore;
  nonces: NonceCache;
  readiness: Readiness;
  /** Called after each newly committed command (wakes the outbox relay). */
  onAccepted?: (commandId: string) => void;
}

export function createApp(deps: AppDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use("*", requestId());
  app.route("/", healthRoutes(deps.readiness));

  const api = new Hono<ApiEnv>();
  api.use("*", rawBody());
  api.use("*", signatureAuth({ clients: deps.clients, nonces: deps.nonces, clock: deps.clock }));
  api.route("/", commandRoutes(deps));
  app.route(COMMANDS_PATH, api);

  app.notFound((c) =>
    c.json(
      errorBody("NOT_FOUND", `No route ${c.req.method} ${c.req.path}`, c.get("requestId")),
      404,
    )
  );
  app.onError(errorHandler(deps.log));
  return app;
}
