// Baseline: a bare MQTT QoS 1 request/reply loop through the same broker: a "cloud" client
// publishes on thing/product/{sn}/services, an echoing "dock" answers on services_reply.
// Concurrency matches the Downlink saturation run, so the ratio compares like with like.
import mqtt, { type MqttClient } from "mqtt";

export interface MqttBaseline {
  repliesPerSecond: number;
  concurrency: number;
}

function noDelay(client: MqttClient): void {
  const apply = () =>
    (client.stream as unknown as { setNoDelay?: (b: boolean) => void })?.setNoDelay?.(true);
  client.on("connect", apply);
  apply();
}

async function connected(url: string, id: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId: id, clean: true, reconnectPeriod: 0 });
  noDelay(client);
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

export async function measureMqttBaseline(
  url: string,
  docks: number,
  concurrency: number,
  seconds: number,
): Promise<MqttBaseline> {
  const tag = Date.now().toString(36);
  const sns = Array.from({ length: docks }, (_, i) => `bench-base-${tag}-${i}`);
  const dock = await connected(url, `bench-dock-${tag}`);
  const cloud = await connected(url, `bench-cloud-${tag}`);
  try {
    dock.on("message", (topic, payload) => {
      const req = JSON.parse(payload.toString());
      const sn = topic.split("/")[2];
      dock.publish(
        `thing/product/${sn}/services_reply`,
        JSON.stringify({
          tid: req.tid,
          bid: req.bid,
          method: req.method,
          timestamp: Date.now(),
          data: { result: 0 },
        }),
        { qos: 1 },
      );
    });
    await dock.subscribeAsync(`thing/product/+/services`, { qos: 1 });
    const waiting = new Map<string, () => void>();
    cloud.on("message", (_topic, payload) => {
      const reply = JSON.parse(payload.toString());
      waiting.get(reply.tid)?.();
      waiting.delete(reply.tid);
    });
    await cloud.subscribeAsync(`thing/product/+/services_reply`, { qos: 1 });

    let done = 0;
    const until = performance.now() + seconds * 1000;
    const worker = async (w: number) => {
      for (let i = 0; performance.now() < until; i++) {
        const tid = crypto.randomUUID();
        const replied = new Promise<void>((r) => waiting.set(tid, r));
        const sn = sns[(w + i * concurrency) % sns.length];
        await cloud.publishAsync(
          `thing/product/${sn}/services`,
          JSON.stringify({
            tid,
            bid: crypto.randomUUID(),
            timestamp: Date.now(),
            method: "fileupload_start",
            data: {},
          }),
          { qos: 1 },
        );
        await replied;
        done++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    return { repliesPerSecond: done / ((performance.now() - start) / 1000), concurrency };
  } finally {
    await dock.endAsync(true);
    await cloud.endAsync(true);
  }
}
