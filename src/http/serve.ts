// Starts an HTTP server for a fetch handler on whichever runtime runs us: Deno.serve on Deno,
// @hono/node-server on Node. Port 0 picks an ephemeral port.
import type { AddressInfo } from "node:net";
import { type Clock, systemClock } from "../async/time.ts";

export interface ServeOptions {
  port: number;
  hostname?: string;
  /** What close()'s wait for busy connections is measured on (default: the system clock). */
  clock?: Clock;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

type FetchHandler = (request: Request) => Response | Promise<Response>;

interface DenoLike {
  serve(
    options: { port: number; hostname?: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
}

export async function serve(
  fetch: FetchHandler,
  { port, hostname = "0.0.0.0", clock = systemClock }: ServeOptions,
): Promise<RunningServer> {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno) {
    const server = deno.serve({ port, hostname, onListen: () => {} }, fetch);
    return {
      port: server.addr.port,
      close: () => server.shutdown(),
    };
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  return await new Promise((resolve, reject) => {
    const server = nodeServe({ fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const s = server as typeof server & {
              closeIdleConnections?: () => void;
              closeAllConnections?: () => void;
            };
            // Idle keep-alive sockets would hold close() open; busy ones get a moment to finish.
            const force = clock.setTimeout(() => s.closeAllConnections?.(), 2_000);
            server.close(() => {
              clock.clearTimeout(force);
              done();
            });
            s.closeIdleConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}
