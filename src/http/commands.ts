// The seed's two endpoints: accept a command (POST) and read its state (GET), each one definition
// (route.ts) that the request check and /openapi.json both come from.
import type { AcceptedCommand } from "../store/accept_batch.ts";
import type { Context } from "hono";
import type { Config } from "../runtime/config.ts";
import { deviceGranted } from "../store/client_store.ts";
import type { CommandStore } from "../store/command_store.ts";
import type { Clock } from "../async/time.ts";
import { rfc3339 } from "../command/timestamp.ts";
import type { ApiEnv } from "./api_env.ts";
import { nonceReplayed } from "./auth.ts";
import { CommandRequestSchema, parseCommandRequest } from "./command_request.ts";
import { commandIdPath } from "./command_id_param.ts";
import { defineRoute } from "./route.ts";
import { CATALOG_PATH } from "./catalog.ts";
import {
  ForbiddenError,
  IdempotencyConflictError,
  NotFoundError,
  OverloadedError,
} from "./errors.ts";
import { partitionOf } from "../command/partition.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";

export const COMMANDS_PATH = "/api/v1/open/downlink/commands";

export interface CommandRoutesDeps {
  config: Pick<Config, "defaultTimeoutSeconds" | "partitions">;
  clock: Clock;
  commands: CommandStore;
  /** The vendors served: a command names one, whose catalog and payload contracts it must meet. */
  vendors: VendorRegistry;
  /** Called after a command was committed (not on a replay): wakes the outbox relay. */
  onAccepted?: (command: AcceptedCommand) => void;
  /** Seconds to hold a new command's outbox row for the shard of this process (0: none). */
  outboxHoldSeconds?: (partition: number) => number;
  /** Why new commands must wait now (the pipeline behind cannot keep up), or undefined. */
  overloaded?: () => string | undefined;
}

/** POST /commands: accept a command. */
export const createCommandRoute = defineRoute({
  method: "post",
  path: COMMANDS_PATH,
  operationId: "createCommand",
  summary: "Accept a command (scope open:command:create, device grant)",
  scope: "open:command:create",
  body: {
    name: "CommandRequest",
    schema: CommandRequestSchema,
    description: "At most 64 KiB. `payload` is checked against the command type's " +
      `schema (GET ${CATALOG_PATH}); unknown fields inside it pass through.`,
    example: (vendor) => vendor.exampleCommand,
    cannot: "Cannot accept command",
    read: (json, deps: CommandRoutesDeps) =>
      parseCommandRequest(json, deps.config.defaultTimeoutSeconds, deps.vendors),
  },
  responses: {
    "202": {
      description: "Accepted (or an idempotent replay)",
      schema: "Accepted",
      headers: {
        "Idempotent-Replayed": {
          description: "`true` when the idempotency key was seen with the same request",
          schema: { type: "string", enum: ["true"] },
        },
      },
    },
    "400": "BadRequest",
    "409": "Conflict",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
  },
  async handle(c: Context<ApiEnv>, { body: request }, deps) {
    const { config, clock, commands, vendors, onAccepted, outboxHoldSeconds, overloaded } = deps;
    const client = c.get("client");
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
      progress: vendors.of(request.vendor).progressLink(request.command_type, request.payload),
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
  },
});

/** GET /commands/{command_id}: the command's state. */
export const getCommandRoute = defineRoute({
  method: "get",
  path: `${COMMANDS_PATH}/:command_id`,
  operationId: "getCommand",
  summary: "The command's state (scope open:command:read)",
  scope: "open:command:read",
  pathParams: commandIdPath,
  responses: {
    "200": { description: "The Query Response", schema: "CommandView" },
    "400": "BadRequest",
    "404": "NotFound",
  },
  async handle(c: Context<ApiEnv>, { path: { command_id: id } }, deps: { commands: CommandStore }) {
    // Another tenant's command is answered exactly like one that does not exist.
    const view = await deps.commands.getCommand(c.get("client").tenant_id, id);
    if (!view) {
      throw new NotFoundError("COMMAND_NOT_FOUND", `No command ${JSON.stringify(id.slice(0, 80))}`);
    }
    return c.json(view);
  },
});
