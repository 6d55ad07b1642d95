// Liveness and readiness: /healthz answers once the process serves; /readyz only when every
// dependency (Postgres, NATS, MQTT) is reachable, naming the ones that are not.
import { Hono } from "hono";

/** Each check: true when it passes; false, or the reason as text, when it fails. */
export type Readiness = () => Promise<Record<string, boolean | string>>;

export function healthRoutes(readiness: Readiness): Hono {
  const routes = new Hono();
  routes.get("/healthz", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", async (c) => {
    let checks: Record<string, boolean | string>;
    try {
      checks = await readiness();
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
  });
  return routes;
}
