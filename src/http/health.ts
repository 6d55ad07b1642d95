// Liveness and readiness: /healthz answers once the process serves; /readyz only when every
// dependency (Postgres, NATS, MQTT) is reachable, naming the ones that are not.
import type { Context } from "hono";
import { defineRoute } from "./route.ts";

/** Each check: true when it passes; false, or the reason as text, when it fails. */
export type Readiness = () => Promise<Record<string, boolean | string>>;

export const healthRoute = defineRoute({
  method: "get",
  path: "/healthz",
  operationId: "health",
  summary: "200 once the process serves",
  unsigned: true,
  responses: { "200": { description: "Serving", schema: { type: "object" } } },
  handle: (c: Context) => c.json({ status: "ok" }),
});

export const readinessRoute = defineRoute({
  method: "get",
  path: "/readyz",
  operationId: "readiness",
  summary: "200 only when Postgres, NATS and MQTT are reachable",
  unsigned: true,
  responses: {
    "200": { description: "Ready", schema: { type: "object" } },
    "503": {
      description: "A dependency is unreachable (named in `failed`)",
      schema: { type: "object" },
    },
  },
  async handle(c: Context, _input, deps: { readiness: Readiness }) {
    let checks: Record<string, boolean | string>;
    try {
      checks = await deps.readiness();
    } catch {
      checks = { readiness: false };
    }
    const failed = Object.entries(checks).filter(([, ok]) => ok !== true).map(([name]) => name);
    const reasons = Object.fromEntries(
      Object.entries(checks).filter(([, ok]) => typeof ok === "string"),
    );
    const shown = Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v === true]));
    return failed.length === 0 ? c.json({ status: "ready", checks: shown }) : c.json({
      status: "unavailable",
      checks: shown,
      failed,
      ...(Object.keys(reasons).length > 0 ? { reasons } : {}),
    }, 503);
  },
});
