// A TCP proxy a test puts between Downlink and a dependency, to stage its outages: close()
// kills the live connections and refuses new ones (the dependency is down), blackhole() lets
// nothing through either way while every socket stays up (a network partition), open() heals.
import net from "node:net";
import { Buffer } from "node:buffer";

export interface TcpProxy {
  port: number;
  /** The target URL with host:port replaced by the proxy's. */
  url(targetUrl: string): string;
  /** Connections refused: live ones are reset, new ones get ECONNREFUSED. */
  close(): Promise<void>;
  /**
   * A partition: connections (live and new) stay open but carry nothing, and no FIN or RST
   * crosses. What is sent meanwhile is held, and delivered on open() as TCP's retransmissions
   * would be, unless its sender closed the socket first (a closed socket retransmits nothing).
   */
  blackhole(): Promise<void>;
  open(): Promise<void>;
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  /** Bytes held during a partition, per direction. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let server: net.Server | undefined;
  let port = 0;
  let partitioned = false;

  const drop = (p: Pair) => {
    p.client.destroy();
    p.upstream?.destroy();
    pairs.delete(p);
  };

  const connectUpstream = (p: Pair) => {
    const upstream = net.connect(targetPort, targetHost);
    p.upstream = upstream;
    upstream.on("error", () => drop(p)).on("close", () => drop(p));
    upstream.on("data", (chunk: Buffer) => {
      if (partitioned) p.toClient.push(chunk);
      else p.client.write(chunk);
    });
    for (const chunk of p.toUpstream.splice(0)) upstream.write(chunk);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const p: Pair = { client, toUpstream: [], toClient: [] };
        pairs.add(p);
        client.on("error", () => drop(p)).on("close", () => drop(p));
        client.on("data", (chunk: Buffer) => {
          if (partitioned || !p.upstream) p.toUpstream.push(chunk);
          else p.upstream.write(chunk);
        });
        // During a partition the SYN would not get through: connect once it heals.
        if (!partitioned) connectUpstream(p);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const close = async () => {
    partitioned = false;
    const s = server;
    server = undefined;
    for (const p of [...pairs]) drop(p);
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    url(targetUrl) {
      const u = new URL(targetUrl);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString().replace(/\/$/, "");
    },
    close,
    async blackhole() {
      if (!server) await listen();
      partitioned = true;
    },
    async open() {
      if (!server) await listen();
      partitioned = false;
      for (const p of [...pairs]) {
        if (!p.upstream) connectUpstream(p);
        else for (const chunk of p.toUpstream.splice(0)) p.upstream.write(chunk);
        for (const chunk of p.toClient.splice(0)) p.client.write(chunk);
      }
    },
    stop: close,
  };
}
