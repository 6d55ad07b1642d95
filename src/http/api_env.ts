// The hono environment of the API: what the middleware (signature check, access log) sets on a
// request's context for the routes to read.
import type { AuthVariables } from "./auth.ts";
import type { AccessLogVariables } from "./access_log.ts";

export type ApiEnv = { Variables: AuthVariables & AccessLogVariables };
