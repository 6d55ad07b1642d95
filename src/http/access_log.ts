// One `info` line per HTTP request, after the error handler shaped the response, so a request id
// quoted by a caller leads to its method, path, status and duration (and its command, if any).
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";

export interface AccessLogVariables {
  requestId: string;
  /** Set by a route whose request is about one command and has no `:command_id` (an accept). */
  commandId?: string;
}

export function accessLog(
  log: Logger,
  clock: Clock,
): MiddlewareHandler<{ Variables: AccessLogVariables }> {
  return async (c, next) => {
    const started = clock.now();
    await next();
    const commandId = c.get("commandId") ?? c.req.param("command_id");
    log.info("request", {
      method: c.req.method,
      // The path without the query: a query may carry filters a log need not keep.
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((clock.now() - started) * 10) / 10,
      request_id: c.get("requestId"),
      ...(commandId ? { command_id: commandId } : {}),
    });
  };
}
