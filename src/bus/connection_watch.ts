// Whether the NATS connection is up right now, kept from its status events, so the API can refuse
// a request at once while NATS is away instead of accepting commands it cannot carry.
import type { NatsConnection } from "@nats-io/transport-node";

export interface ConnectionWatch {
  /** False from a disconnect until the reconnect, and once the connection is closed. */
  readonly connected: boolean;
  close(): void;
}

export function watchConnection(nc: NatsConnection): ConnectionWatch {
  let up = !nc.isClosed();
  let closed = false;
  (async () => {
    for await (const s of nc.status()) {
      if (closed) break;
      if (s.type === "disconnect") up = false;
      else if (s.type === "reconnect") up = true;
    }
  })().catch(() => {});
  return {
    get connected() {
      return up && !nc.isClosed();
    },
    close() {
      closed = true;
    },
  };
}
