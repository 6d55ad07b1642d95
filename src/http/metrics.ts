// GET /metrics (unsigned, Prometheus text) and the middleware that counts every HTTP response
// by status code, error responses included.
import { Hono, type MiddlewareHandler } from "hono";
import { type Counter, type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics.ts";

export const METRICS_PATH = "/metrics";

/** Counts each response after the error handler shaped it, as `{status="…"}`. */
export function countResponses(counter: Counter): MiddlewareHandler {
  return async (c, next) => {
    await next();
    counter.inc({ status: String(c.res.status) });
  };
}

export function metricsRoutes(registry: MetricsRegistry): Hono {
  const routes = new Hono();
  routes.get(
    METRICS_PATH,
    (c) => c.body(registry.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
  );
  return routes;
}
