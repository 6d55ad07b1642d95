// GET /: an unsigned index, so whoever finds the port learns what answers and where to read on.
import { Hono } from "hono";
import pkg from "../../package.json" with { type: "json" };
import { OPENAPI_PATH } from "./openapi.ts";

export const SERVICE_INDEX_PATH = "/";

export function serviceIndexRoutes(): Hono {
  const index = {
    name: "downlink",
    version: pkg.version,
    links: {
      openapi: OPENAPI_PATH,
      health: "/healthz",
      ready: "/readyz",
      // package.json names no repository to link to: the README beside the code.
      docs: "README.md",
    },
  };
  const routes = new Hono();
  routes.get(SERVICE_INDEX_PATH, (c) => c.json(index));
  return routes;
}
