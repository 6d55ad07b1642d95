// GET /: an unsigned index, so whoever finds the port learns what answers and where to read on.
import type { Context } from "hono";
import { defineRoute } from "./route.ts";
import pkg from "../../package.json" with { type: "json" };
import { OPENAPI_PATH } from "./openapi.ts";

export const SERVICE_INDEX_PATH = "/";

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

export const serviceIndexRoute = defineRoute({
  method: "get",
  path: SERVICE_INDEX_PATH,
  operationId: "serviceIndex",
  summary: "Name, version and links to this document, health, readiness and docs",
  unsigned: true,
  responses: { "200": { description: "The index", schema: "ServiceIndex" } },
  handle: (c: Context) => c.json(index),
});
