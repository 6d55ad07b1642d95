// The in-process adapter of the link (DOWNLINK_LINK=local): where the shard and the bridge share a
// process, the partitions that shard hosts skip JetStream on the way out. The API's relay hands
// a committed command to the shard, the shard hands it to the bridge, and the bridge hands the
// shard its delivered fact, each as a function call; everything else (partitions hosted
// elsewhere, a bridge that stopped, recovered dispatches) goes through JetStream as in the
// default adapter. Device replies travel through JetStream too: a reply is acknowledged to the
// broker once JetStream stored it (well under a millisecond), not after a Postgres commit, which
// under load takes long enough to stall a reply connection (mqtt.js reads its next packet,
// keep-alive answers included, only once the previous one is acknowledged). Only while NATS is
// away does a reply go to the shard next door by hand.
import type { NatsConnection } from "@nats-io/transport-node";
import type { AckedPublisher } from "../bus/acked_publisher.ts";
import { watchConnection } from "../bus/connection_watch.ts";
import type { TopologyNames } from "../bus/subjects.ts";
import { createJetStreamLink } from "./jetstream_link.ts";
import type { BridgeEnd, Link, ShardEnd } from "./link.ts";

/** How long the outbox row of a command handed to the shard next door waits for the commit that
 * deletes it (its first transition) before a pass carries it through JetStream. Normally that
 * commit comes within milliseconds; the row outlives it only if the process lost the device's
 * partition before hosting the command (then the new owner gets it this late), or while the
 * command cannot be delivered (then the carried copy is a duplicate the shard drops). */
export const IN_PROCESS_OUTBOX_HOLD_SECONDS = 10;

export function createInProcessLink(
  o: { publisher: AckedPublisher; names: TopologyNames; nc: NatsConnection },
): Link {
  const jetstream = createJetStreamLink(o);
  const natsUp = watchConnection(o.nc);
  let shard: ShardEnd | undefined;
  let bridge: BridgeEnd | undefined;
  return {
    outboxHoldSeconds: (partition) => shard?.hosts(partition) ? IN_PROCESS_OUTBOX_HOLD_SECONDS : 0,
    dispatch(command, how) {
      // Only a held row may be handed over: it stays until the command's first transition, so a
      // partition lost before then still gets the command through a pass. The partition may
      // have moved since the accept: then JetStream takes it to its owner.
      if (how.held && !how.recovered && shard?.dispatch(command)) {
        return Promise.resolve("hosted");
      }
      return jetstream.dispatch(command, how);
    },
    command(command, partition) {
      if (bridge?.send(command)) return Promise.resolve();
      return jetstream.command(command, partition);
    },
    delivered(fact, partition) {
      if (!shard?.hosts(partition)) return jetstream.delivered(fact, partition);
      shard.delivered(fact);
      return Promise.resolve();
    },
    async reply(fact, partition) {
      // While NATS is away a reply of a partition this process hosts goes to its shard by hand
      // (settled once committed): the dock answered in time, and a NATS outage must not make its
      // command time out.
      if (!natsUp.connected && shard?.hosts(partition)) return await shard.reply(fact);
      try {
        await jetstream.reply(fact, partition);
      } catch (err) {
        if (!shard?.hosts(partition)) throw err;
        // Stored or not, the shard next door takes it now; a copy JetStream did store is a
        // reply for a command that has it already, and changes nothing.
        await shard.reply(fact);
      }
    },
    presence: (fact, partition) =>
      shard?.presence(partition, fact) ?? jetstream.presence(fact, partition),
    attach(ends) {
      shard = ends.shard;
      bridge = ends.bridge;
    },
    close() {
      natsUp.close();
    },
  };
}
