// What the composition root hands every role: the real pieces, already connected.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Config } from "./runtime/config.ts";
import type { Logger } from "./runtime/log.ts";
import type { Clock } from "./async/time.ts";
import type { Sql } from "./store/db.ts";
import type { TopologyNames } from "./bus/subjects.ts";
import type { DataCipher } from "./crypto/data_key.ts";
import type { EventPublisher } from "./bus/event_publisher.ts";
import type { AckedPublisher } from "./bus/acked_publisher.ts";
import type { VendorRegistry } from "./vendors/vendor_registry.ts";

export interface RoleContext {
  config: Config;
  log: Logger;
  clock: Clock;
  sql: Sql;
  nc: NatsConnection;
  names: TopologyNames;
  cipher: DataCipher;
  /** Every JetStream publish of the process, acknowledged on one inbox. */
  publisher: AckedPublisher;
  events: EventPublisher;
  /** The device vendors served, registered in the composition root and nowhere else. */
  vendors: VendorRegistry;
}

/** A running role; stop() drains in-flight work and releases what the role holds. */
export interface RunningRole {
  stop(): Promise<void>;
}
