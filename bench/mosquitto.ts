// The benchmark's own Mosquitto on a free loopback port, tuned as DESIGN.md asks
// (TCP no-delay, queues large enough for QoS 1 bursts). Baselines and Downlink share it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./loopback_port.ts";

export interface Broker {
  url: string;
  stop(): Promise<void>;
  /** True when this run started its own tuned broker, false when it uses MQTT_URL as is. */
  own: boolean;
}

export async function startBroker(fallbackUrl: string): Promise<Broker> {
  const bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p));
  if (!bin) return { url: fallbackUrl, own: false, stop: async () => {} };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "downlink-bench-mqtt-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "set_tcp_nodelay true",
      "max_inflight_messages 0",
      "max_queued_messages 1000000",
      "max_queued_bytes 0",
      "log_dest none",
    ].join("\n") + "\n",
  );
  const child: ChildProcess = spawn(bin, ["-c", conf], { stdio: "ignore" });
  await waitForPort(port, "mosquitto");
  return {
    url: `mqtt://127.0.0.1:${port}`,
    own: true,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
