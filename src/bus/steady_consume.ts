// Pulling from a JetStream consumer without long silent stalls. nats.js keeps a count of the
// messages its pull requests may still bring, and asks again only once that count falls; when the
// count and the server disagree (a pull the server ended without saying how much was left, a 409
// it does not report), it waits for two missed idle heartbeats before it pulls afresh. With the
// defaults (30 s requests, 15 s heartbeats) that was a 30 s pause of one partition's replies,
// seen in the soak as commands of one partition in sixteen waiting 29 s for replies their docks
// had sent at once. Short requests with 1 s heartbeats bound such a pause to about 2 s, for one
// pull request per consumer every 10 s and one heartbeat a second while idle.
import type { Consumer, ConsumerMessages } from "@nats-io/jetstream";
import type { Logger } from "../runtime/log.ts";

const EXPIRES_MS = 10_000;
const IDLE_HEARTBEAT_MS = 1_000;

/** Notifications that say the pull loop stalled or lost its consumer (not the routine ones:
 * each pull, heartbeats, a request that expired with messages left). */
const TROUBLE = new Set([
  "heartbeats_missed",
  "consumer_not_found",
  "stream_not_found",
  "consumer_deleted",
  "exceeded_limits",
  "no_responders",
  "reset",
]);

export async function consumeSteadily(
  consumer: Consumer,
  o: { maxMessages: number; log: Logger; name: string },
): Promise<ConsumerMessages> {
  const messages = await consumer.consume({
    max_messages: o.maxMessages,
    expires: EXPIRES_MS,
    idle_heartbeat: IDLE_HEARTBEAT_MS,
  });
  (async () => {
    for await (const s of messages.status()) {
      if (TROUBLE.has(s.type)) {
        o.log.warn("JetStream pull consumer trouble", { consumer: o.name, ...s });
      }
    }
  })().catch(() => {});
  return messages;
}
