// The seed's two endpoints: accept a command (POST) and read its state (GET).
import type { AcceptedCommand } from "../store/accept_batch.ts";
import { Hono } from "hono";
import type { Config } from "../config.ts";
import { deviceGranted } from "../store/client_store.ts";
import type { CommandStore } from "../store/command_store.ts";
import type { Clock } from "../time.ts";
import { rfc3339 } from "../time.ts";
import type { AuthVariables } from "./auth.ts";
import type { AccessLogVariables } from "./access_log.ts";
import { nonceReplayed, requireScope } from "./auth.ts";
import { parseCommandRequest } from "./command_request.ts";
import { parseCommandId } from "./command_id_param.ts";
import { parseJsonBody } from "./json_body.ts";
import {
  ForbiddenError,
  IdempotencyConflictError,
  NotFoundError,
  OverloadedError,
} from "./errors.ts";
import { partitionOf } from "../command/partition.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";

export const COMMANDS_PATH = "/api/v1/open/downlink/commands";

export interface CommandRoutesDeps {
  config: Pick<Config, "defaultTimeoutSeconds" | "partitions">;
  clock: Clock;
  commands: CommandStore;
  /** The vendor whose catalog and payload contracts a command must meet. */
  vendor: VendorAdapter;
  /** Called after a command was committed (not on a replay): wakes the outbox relay. */
  onAccepted?: (command: AcceptedCommand) => void;
  /** Seconds to hold a new command's outbox row for the shard of this process (0: none). */
  outboxHoldSeconds?: (partition: number) => number;
  /** Why new commands must wait now (the pipeline behind cannot keep up), or undefined. */
  overloaded?: () => string | undefined;
}

export type ApiEnv = { Variables: AuthVariables & AccessLogVariables };

export function commandRoutes(deps: CommandRoutesDeps): Hono<ApiEnv> {
  const { config, clock, commands, vendor, onAccepted, outboxHoldSeconds, overloaded } = deps;
  const routes = new Hono<ApiEnv>();

  routes.post("/", async (c) => {
    const client = c.get("client");
    requireScope(client, "open:command:create");
    const request = parseCommandRequest(
      parseJsonBody(c.get("rawBody"), "Cannot accept command"),
      config.defaultTimeoutSeconds,
      vendor,
    );
    if (!deviceGranted(client.devices, request.device_id)) {
      throw new ForbiddenError(
        `API client is not granted the device ${JSON.stringify(request.device_id)}`,
      );
    }
    const partition = partitionOf(request.device_id, config.partitions);
    // Refused before the accept statement: nothing is stored, and the client sends it again.
    const pressure = overloaded?.();
    if (pressure) throw new OverloadedError(pressure);
    const outcome = await commands.acceptCommand({
      tenantId: client.tenant_id,
      clientId: client.client_id,
      idempotencyKey: request.idempotency_key,
      vendor: request.vendor,
      deviceId: request.device_id,
      commandType: request.command_type,
      channel: request.channel,
      timeoutSeconds: request.timeout_seconds,
      payload: request.payload,
      partition,
      acceptedAt: clock.now(),
      outboxHoldSeconds: outboxHoldSeconds?.(partition) ?? 0,
      nonce: c.get("nonce"),
      progress: vendor.progressLink(request.command_type, request.payload),
    });
    if (outcome.outcome === "nonce_replayed") throw nonceReplayed();
    if (outcome.outcome === "conflict") throw new IdempotencyConflictError(request.idempotency_key);
    if (outcome.outcome === "accepted") onAccepted?.(outcome.command);
    else c.header("Idempotent-Replayed", "true");
    c.set("commandId", outcome.command_id);
    return c.json({
      command_id: outcome.command_id,
      status: "ACCEPTED",
      accepted_at: rfc3339(outcome.accepted_at),
      request_id: c.get("requestId"),
    }, 202);
  });

  routes.get("/:command_id", async (c) => {
    const client = c.get("client");
    requireScope(client, "open:command:read");
    const id = parseCommandId(c.req.param("command_id"));
    // Another tenant's command is answered exactly like one that does not exist.
    const view = await commands.getCommand(client.tenant_id, id);
    if (!view) {
      throw new NotFoundError("COMMAND_NOT_FOUND", `No command ${JSON.stringify(id.slice(0, 80))}`);
    }
    return c.json(view);
  });

  return routes;
}
