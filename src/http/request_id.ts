// Every response carries X-Request-Id: the caller's when it is sane, else a fresh one.
import type { MiddlewareHandler } from "hono";
import { v4 } from "uuid";

const SANE = /^[A-Za-z0-9._:\/=+-]{1,128}$/;

export interface RequestIdOptions {
  headerName?: string;
  generate?: () => string;
}

/**
 * Sets `c.var.requestId` and the response header.
 *
 * The header is set before the handler runs, so that it is part of the headers every response
 * built through the context starts with. Setting it only afterwards, on the finished response,
 * loses it on HEAD under Node: hono answers HEAD with `new Response(null, getResponse)`, and
 * @hono/node-server 1.x's Response copies the headers it was constructed with, not those changed
 * since (fixed upstream in 2.0.3, honojs/node-server#357). It is set again afterwards for a
 * response a handler builds itself.
 */
export function requestId(
  { headerName = "X-Request-Id", generate = v4 }: RequestIdOptions = {},
): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const given = c.req.header(headerName);
    const id = given && SANE.test(given) ? given : generate();
    c.set("requestId", id);
    c.header(headerName, id);
    await next();
    c.res.headers.set(headerName, id);
  };
}
