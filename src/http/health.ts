// Liveness and readiness: /healthz answers once the process serves; /readyz only when every
// dependency (Postgres, NATS, MQTT) is reachable, naming the ones that are not.
import { Hono } from "hono";

export type Readiness = () => Promise<Record<string, boolean>>;

export function healthRoutes(readiness: Readiness): Hono {
  const routes = new Hono();
  routes.get("/healthz", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", async (c) => {
    let checks: Record<string, boolean>;
    try {
      checks = await readiness();
    } catch {
      checks = { readiness: false };
    }
    const failed = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
    return failed.length === 0
      ? c.json({ status: "ready", checks })
      : c.json({ status: "unavailable", checks, failed }, 503);
  });
  return routes;
}
