// Every response carries X-Request-Id: the caller's when it is sane, else a fresh one.
import type { MiddlewareHandler } from "hono";
import { v4 } from "uuid";

const SANE = /^[A-Za-z0-9._:\/=+-]{1,128}$/;

export interface RequestIdOptions {
  headerName?: string;
  generate?: () => string;
}

/** Sets `c.var.requestId` and the response header. */
export function requestId(
  { headerName = "X-Request-Id", generate = v4 }: RequestIdOptions = {},
): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const given = c.req.header(headerName);
    const id = given && SANE.test(given) ? given : generate();
    c.set("requestId", id);
    await next();
    c.res.headers.set(headerName, id);
  };
}
