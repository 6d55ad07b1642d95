// The HTTP API as a hono app: request ids, the index, health, metrics, OpenAPI, the signed command,
// catalog, device and device request endpoints, and the one error handler that turns every failure into the error envelope.
import type { AcceptedCommand } from "../store/accept_batch.ts";
import { Hono, type MiddlewareHandler } from "hono";
import type { Config } from "../runtime/config.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";
import type { CommandStore } from "../store/command_store.ts";
import type { NonceStore } from "../store/nonce_store.ts";
import { type ClientLookup, signatureAuth } from "./auth.ts";
import { rawBody } from "./body.ts";
import type { ApiEnv } from "./api_env.ts";
import { COMMANDS_PATH, createCommandRoute, getCommandRoute } from "./commands.ts";
import { errorBody, errorHandler, ServiceUnavailableError } from "./errors.ts";
import { healthRoute, type Readiness, readinessRoute } from "./health.ts";
import { requestId } from "./request_id.ts";
import { accessLog } from "./access_log.ts";
import type { CompletionWatch } from "../bus/completion_watch.ts";
import type { ConnectionWatch } from "../bus/connection_watch.ts";
import { createMetricsRegistry, type Histogram } from "../runtime/metrics.ts";
import { registerProcessMemory } from "../runtime/process_memory.ts";
import { type EventLoopDelay, registerEventLoopDelay } from "../runtime/event_loop_delay.ts";
import { CATALOG_PATH, getCatalogRoute } from "./catalog.ts";
import { listCommandsRoute } from "./command_list.ts";
import { waitForCommandRoute } from "./command_wait.ts";
import { acceptHistogram, countResponses, metricsRoute, timeAccepts } from "./metrics.ts";
import { openApiDocument, openApiRoute } from "./openapi.ts";
import { serviceIndexRoute } from "./service_index.ts";
import { DEVICES_PATH, getDeviceRoute, listDevicesRoute } from "./devices.ts";
import type { DeviceReader } from "../store/device_list.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import {
  DEVICE_REQUESTS_PATH,
  type DeviceRequestRoutesDeps,
  getDeviceRequestRoute,
  listDeviceRequestsRoute,
  replyToDeviceRequestRoute,
} from "./device_requests.ts";
import { createRouteTable, type Route } from "./route.ts";

export interface AppDeps {
  config: Pick<Config, "defaultTimeoutSeconds" | "partitions">;
  log: Logger;
  clock: Clock;
  clients: ClientLookup;
  commands: CommandStore;
  /** The device vendors: their catalogs, payload contracts and job progress. */
  vendors: VendorRegistry;
  /** The device registry (GET /devices). */
  devices: DeviceReader;
  /** The docks' requests (GET /device-requests) and the clients' answers. */
  deviceRequests: DeviceRequestRoutesDeps["deviceRequests"];
  handOverAnswer: DeviceRequestRoutesDeps["handOverAnswer"];
  nonces: NonceStore;
  /** The NATS connection: while it is down, signed requests are answered 503. */
  nats: Pick<ConnectionWatch, "connected">;
  readiness: Readiness;
  /** Called after each newly committed command (wakes the outbox relay). */
  onAccepted?: (command: AcceptedCommand) => void;
  /** Seconds to hold a new command's outbox row for the shard of this process (0: none). */
  outboxHoldSeconds?: (partition: number) => number;
  /** Wakes waiting requests when their command completes. */
  completions: CompletionWatch;
  /** Watches command.progress for waits ?until=finished. */
  progress?: CompletionWatch;
  /** Counters kept outside the API (the shard's and bridge's), shown on /metrics. */
  metrics?: () => Record<string, number>;
  /** How late the event loop runs, shown on /metrics; its timer belongs to the caller. */
  eventLoopDelay?: Pick<EventLoopDelay, "take">;
  /** Why new commands must wait now (the pipeline behind cannot keep up), or undefined. */
  overloaded?: () => string | undefined;
  /** Gauges of the pipeline behind (reply lag, commit latency, in flight), for /metrics. */
  pipelineGauges?: () => Record<string, number>;
  /** Reply lag and commit latency histograms (see shard/pipeline_pressure.ts). */
  pipelineHistograms?: readonly Histogram[];
}

const PIPELINE_GAUGES = {
  downlink_reply_lag_p99_seconds:
    "From the bridge receiving a device reply to its transition committed, p99 over 10 s.",
  downlink_reply_lag_max_seconds: "The same, the largest over 10 s.",
  downlink_reply_backlog: "Device replies the shard has taken and not yet committed.",
  downlink_reply_backlog_oldest_seconds: "How long the oldest of them has waited since the bridge.",
  downlink_commit_latency_p99_seconds: "Lifecycle transition commits, p99 over 10 s.",
  downlink_commit_latency_max_seconds: "Lifecycle transition commits, the longest over 10 s.",
  downlink_in_flight_commands: "Commands hosted by this process's shard and not yet finished.",
  downlink_command_actors_live:
    "Of those, the ones that are live actors now (the others are passivated, kept as snapshots).",
  downlink_device_actors_live: "Device shards hosted here that are live actors now.",
};

export function createApp(deps: AppDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const registry = createMetricsRegistry();
  if (deps.metrics) registry.collect(deps.metrics, { prefix: "downlink_" });
  registerProcessMemory(registry);
  if (deps.eventLoopDelay) registerEventLoopDelay(registry, deps.eventLoopDelay);
  if (deps.pipelineGauges) registry.gauges(deps.pipelineGauges, PIPELINE_GAUGES);
  for (const h of deps.pipelineHistograms ?? []) registry.histogram(h);
  app.use("*", requestId());
  app.use("*", accessLog(deps.log, deps.clock));
  app.use(
    "*",
    countResponses(registry.counter("downlink_http_responses", "HTTP responses by status code")),
  );
  const accepts = acceptHistogram();
  registry.histogram(accepts);
  app.use(COMMANDS_PATH, timeAccepts(accepts, deps.clock));
  // Every route is served through the table, which is what /openapi.json describes.
  const table = createRouteTable();
  let openApiJson: string | undefined;
  table.serve(
    app,
    "",
    [healthRoute, readinessRoute, metricsRoute, openApiRoute, serviceIndexRoute],
    {
      readiness: deps.readiness,
      registry,
      openApiJson: () =>
        openApiJson ??= JSON.stringify(openApiDocument(table.routes, deps.vendors)),
    },
    { signed: false },
  );

  const signed = () => {
    const api = new Hono<ApiEnv>();
    api.use("*", requireNats(deps.nats));
    api.use("*", rawBody());
    api.use(
      "*",
      signatureAuth({
        clients: deps.clients,
        nonces: deps.nonces,
        clock: deps.clock,
        // The accept statement claims the nonce along with the command.
        claimsNonce: (method, path) => method === "POST" && path === COMMANDS_PATH,
      }),
    );
    return api;
  };
  const mount = (prefix: string, routes: Route<AppDeps, ApiEnv>[]) => {
    const api = signed();
    table.serve(api, prefix, routes, deps, { signed: true });
    app.route(prefix, api);
  };
  mount(COMMANDS_PATH, [
    createCommandRoute,
    listCommandsRoute,
    getCommandRoute,
    waitForCommandRoute,
  ]);
  mount(CATALOG_PATH, [getCatalogRoute]);
  mount(DEVICES_PATH, [listDevicesRoute, getDeviceRoute]);
  mount(DEVICE_REQUESTS_PATH, [
    listDeviceRequestsRoute,
    getDeviceRequestRoute,
    replyToDeviceRequestRoute,
  ]);

  app.notFound((c) =>
    c.json(
      errorBody("NOT_FOUND", `No route ${c.req.method} ${c.req.path}`, c.get("requestId")),
      404,
    )
  );
  app.onError(errorHandler(deps.log));
  return app;
}

/**
 * 503 while NATS is away: a command accepted now could not be carried to its device. Checked
 * before the signature check spends the nonce, so the client can send the same request again.
 */
function requireNats(nats: Pick<ConnectionWatch, "connected">): MiddlewareHandler {
  return async (_c, next) => {
    if (!nats.connected) throw new ServiceUnavailableError("NATS");
    await next();
  };
}
