// GET /metrics (unsigned, Prometheus text) and the middleware that counts every HTTP response
// by status code, error responses included.
import type { Context, MiddlewareHandler } from "hono";
import { defineRoute } from "./route.ts";
import {
  type Counter,
  createHistogram,
  type Histogram,
  type MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from "../runtime/metrics.ts";
import type { Clock } from "../async/time.ts";

export const METRICS_PATH = "/metrics";

/** Counts each response after the error handler shaped it, as `{status="…"}`. */
export function countResponses(counter: Counter): MiddlewareHandler {
  return async (c, next) => {
    await next();
    counter.inc({ status: String(c.res.status) });
  };
}

/** Downlink's own share of the accept latency a caller sees: from the request read to its 202.
 * A caller's p99 rising while this one stays flat points at the network or the caller. */
export function acceptHistogram(): Histogram {
  return createHistogram(
    "downlink_http_accept_seconds",
    "Signed POST /commands answered 202: seconds from the request read to the answer.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
}

/** Observes each POST on its path that was answered 202 (a new or an idempotent replay). */
export function timeAccepts(histogram: Histogram, clock: Clock): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    const start = clock.now();
    await next();
    if (c.res.status === 202) histogram.observe((clock.now() - start) / 1000);
  };
}

export const metricsRoute = defineRoute({
  method: "get",
  path: METRICS_PATH,
  operationId: "metrics",
  summary: "Process counters, Prometheus text format",
  unsigned: true,
  responses: {
    "200": {
      description: "Prometheus text exposition format 0.0.4",
      contentType: "text/plain",
      schema: { type: "string" },
    },
  },
  handle: (c: Context, _input, deps: { registry: MetricsRegistry }) =>
    c.body(deps.registry.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
});
