// What starting an embedded server gives back, whichever server it is.

export interface EmbeddedServer {
  /** Its URL, as the matching variable (DATABASE_URL, NATS_URL, MQTT_URL) would hold it. */
  url: string;
  pid: number;
  /** True when its data folder was created by this start. */
  fresh: boolean;
  /** Stops it with its orderly signal; resolves once it is gone. */
  stop(): Promise<void>;
}
