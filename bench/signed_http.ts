// The load generator's HTTP client: signed POSTs over node:http with kept-alive connections.
// fetch (undici) cost the load generator ~1 ms of CPU per request on this machine, CPU taken
// from the Downlink it measures on the same two cores; node:http costs a fraction of that.
import { Agent, request } from "node:http";
import { Buffer } from "node:buffer";
import { COMMANDS_PATH } from "../src/client/downlink_client.ts";
import { newNonce, signedHeaders } from "../src/http/signing.ts";

export interface SignedPoster {
  /** POSTs `body` as JSON to the commands path; resolves with the status and parsed body. */
  post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): void;
}

export function createSignedPoster(
  o: { host: string; port: number; clientId: string; secret: string; connections: number },
): SignedPoster {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  return {
    post(body) {
      const bytes = Buffer.from(JSON.stringify(body));
      const headers = signedHeaders(o.secret, {
        method: "POST",
        path: COMMANDS_PATH,
        query: "",
        clientId: o.clientId,
        timestamp: String(Math.floor(Date.now() / 1000)),
        nonce: newNonce(),
        body: bytes,
      });
      return new Promise((resolve, reject) => {
        const req = request({
          agent,
          host: o.host,
          port: o.port,
          method: "POST",
          path: COMMANDS_PATH,
          headers: {
            ...headers,
            "Content-Type": "application/json",
            "Content-Length": String(bytes.byteLength),
          },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: Record<string, unknown> = {};
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              parsed = { text };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(bytes);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
