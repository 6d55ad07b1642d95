// An mqtt.js client with TCP no-delay on every (re)connect: mqtt.js and Mosquitto both leave
// Nagle on, which makes a QoS 1 request/reply cost ~88 ms instead of well under one.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { type Clock, systemClock } from "../async/time.ts";

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  /** false keeps the broker session (subscriptions, queued QoS 1) across reconnects. */
  clean?: boolean;
  /** MQTT 5 session expiry: how long the broker keeps a session of a vanished client. */
  sessionExpirySeconds?: number;
  onError?: (err: Error) => void;
  /** Decides when a received QoS 1 message is acknowledged (mqtt.js `customHandleAcks`). */
  customHandleAcks?: IClientOptions["customHandleAcks"];
  /** Topic filters (QoS 1) subscribed on every connect, whatever the broker says of the session:
   * a broker may restore a session without some of its subscriptions (Mosquitto 2.0 drops the
   * `$share/...` ones), and mqtt.js subscribes again only when the session is not present. */
  subscriptions?: readonly string[];
  /** false: no reconnect after the first connection closes (default true). */
  reconnect?: boolean;
  /** Called with the client as soon as it exists, before its first CONNACK (a resumed session
   * delivers queued messages right away, and their handler may need the client). */
  onCreated?: (client: MqttClient) => void;
  /** Called once `subscriptions` are subscribed after a connect, and when the connection closes:
   * whether the connection takes its subscriptions' messages now. */
  onListening?: (listening: boolean) => void;
  /** How long start-up waits for the broker's CONNACK, and then for its SUBACK (default 10 s). */
  answerTimeoutMs?: number;
  /** What those waits are measured on (default: the system clock). */
  clock?: Clock;
}

/** Connects and resolves once the first CONNACK arrived; reconnects forever afterwards. */
export async function connectMqtt(o: MqttConnectionOptions): Promise<MqttClient> {
  const options: IClientOptions = {
    clientId: o.clientId,
    clean: o.clean ?? true,
    protocolVersion: 5,
    reconnectPeriod: o.reconnect === false ? 0 : 500,
    connectTimeout: 5_000,
    keepalive: 30,
    // With `subscriptions` we subscribe on every connect ourselves; otherwise mqtt.js subscribes
    // again what was subscribed, when the broker kept no session.
    resubscribe: !o.subscriptions,
    ...(o.customHandleAcks ? { customHandleAcks: o.customHandleAcks } : {}),
    ...(o.sessionExpirySeconds !== undefined
      ? { properties: { sessionExpiryInterval: o.sessionExpirySeconds } }
      : {}),
  };
  const answerTimeoutMs = o.answerTimeoutMs ?? 10_000;
  const clock = o.clock ?? systemClock;
  const within = `${answerTimeoutMs / 1000} s`;
  const client = mqtt.connect(o.url, options);
  o.onCreated?.(client);
  let subscribed: Promise<unknown> = Promise.resolve();
  client.on("connect", () => {
    setNoDelay(client);
    if (o.subscriptions?.length) {
      subscribed = subscribe(client, o.subscriptions).then(
        () => o.onListening?.(true),
        (err) => o.onError?.(err),
      );
    }
  });
  client.on("close", () => o.onListening?.(false));
  client.on("error", (err) => o.onError?.(err));
  await new Promise<void>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      client.end(true);
      reject(new Error(`MQTT broker ${o.url} did not answer within ${within}`));
    }, answerTimeoutMs);
    client.once("connect", () => {
      clock.clearTimeout(timer);
      resolve();
    });
  });
  // A connection lost before its SUBACK may leave the subscribe unanswered for good (mqtt.js
  // keeps it for the next connection, which subscribes anew): start-up must not hang on it.
  let subackTimer: unknown;
  try {
    await Promise.race([
      subscribed,
      new Promise<never>((_, reject) => {
        subackTimer = clock.setTimeout(() => {
          client.end(true);
          reject(
            new Error(`MQTT broker ${o.url} did not confirm the subscriptions within ${within}`),
          );
        }, answerTimeoutMs);
      }),
    ]);
  } finally {
    clock.clearTimeout(subackTimer);
  }
  return client;
}

/** Subscribes `filters` at QoS 1; rejects when the broker refuses any of them. */
export async function subscribe(client: MqttClient, filters: readonly string[]): Promise<void> {
  const granted = await client.subscribeAsync([...filters], { qos: 1 });
  const refused = granted.filter((g) => g.qos > 2);
  if (refused.length > 0) {
    throw new Error(`MQTT broker refused ${refused.map((g) => g.topic).join(", ")}`);
  }
}

function setNoDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
  stream?.setNoDelay?.(true);
}
