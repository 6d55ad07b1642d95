// A lightweight MQTT connection whose only job is to tell /readyz whether the broker answers.
import mqtt from "mqtt";

export interface MqttProbe {
  connected(): boolean;
  close(): Promise<void>;
}

export function createMqttProbe(url: string): MqttProbe {
  const client = mqtt.connect(url, {
    clientId: `downlink-probe-${crypto.randomUUID().slice(0, 8)}`,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    clean: true,
  });
  client.on("error", () => {}); // reconnects by itself; /readyz reports the state
  return {
    connected: () => client.connected,
    close: () => new Promise<void>((r) => client.end(true, {}, () => r())),
  };
}

/** Connects once, without reconnecting, and disconnects: resolves when the broker accepted the
 * connection, rejects with the first error otherwise (start-up checks the broker with it). */
export function checkMqttReachable(url: string, timeoutMs = 3_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: `downlink-check-${crypto.randomUUID().slice(0, 8)}`,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      clean: true,
    });
    let failure: Error | undefined;
    let accepted = false;
    client.once("connect", () => {
      accepted = true;
      client.end(true, {}, () => resolve());
    });
    client.once("error", (err) => (failure ??= err));
    client.once("close", () => {
      if (accepted) return;
      client.end(true);
      reject(failure ?? Object.assign(new Error("no answer (timed out)"), { code: "ETIMEDOUT" }));
    });
  });
}
