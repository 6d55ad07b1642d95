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
