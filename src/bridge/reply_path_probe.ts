// Notices a deaf reply path. A broker can forget the bridges' shared subscription while the
// connections stay up (Mosquitto 2.0 restores a persistent MQTT 5 session without its `$share`
// subscriptions), and nothing on the wire says so: replies simply stop. So the bridge sends itself
// a probe through the broker on a reply topic every few seconds; whichever bridge of the share
// group takes it hands it back to its sender. A sender that has heard none of its probes for a
// while is deaf: it says so (readiness, a counter, a log line) and repairs its connections.
import type { Clock } from "../async/time.ts";
import type { Logger } from "../runtime/log.ts";

/** The serial number probes are published under: never a device id (those start with a letter
 * or digit), so no reply of a real dock is ever taken for a probe. */
export const PROBE_GATEWAY_PREFIX = "_downlink-probe";

export interface ReplyPathProbeOptions {
  clock: Clock;
  log: Logger;
  /** How often a probe is sent (default 5 s). */
  intervalMs?: number;
  /** The path is deaf when no probe sent within this long came back (default 20 s: with probes
   * every 5 s, deafness is noticed within ~25 s, under the 30 s operators were promised). */
  deafAfterMs?: number;
  /** Publishes one probe through the broker, stamped with its send time. */
  send(sentAt: number): Promise<void>;
  /** Repairs the path: the first attempt subscribes again, later ones reconnect. */
  repair(attempt: number): Promise<void>;
  /** Counts what happened (`reply_path_deaf`, `reply_path_repairs`). */
  count(name: string): void;
}

export interface ReplyPathProbe {
  /** One of this bridge's probes came back; `sentAt` is the time it was sent. */
  heard(sentAt: number): void;
  /** False while the path is deaf. */
  healthy(): boolean;
  stop(): void;
}

export function startReplyPathProbe(o: ReplyPathProbeOptions): ReplyPathProbe {
  const intervalMs = o.intervalMs ?? 5_000;
  const deafAfterMs = o.deafAfterMs ?? 20_000;
  // Start-up counts as heard: the subscriptions were just made.
  let lastHeardSent = o.clock.now();
  let deaf = false;
  let attempts = 0;
  let repairing = false;
  let stopped = false;
  let timer: unknown;

  const tick = () => {
    if (stopped) return;
    const now = o.clock.now();
    o.send(now).catch((err) => o.log.warn("reply path probe not sent", { err }));
    if (now - lastHeardSent > deafAfterMs && !repairing) {
      if (!deaf) {
        deaf = true;
        o.count("reply_path_deaf");
        o.log.error("reply path is deaf: no probe came back through the broker", {
          silent_ms: now - lastHeardSent,
        });
      }
      repairing = true;
      attempts++;
      o.count("reply_path_repairs");
      o.log.warn("repairing the reply path", {
        attempt: attempts,
        how: attempts === 1 ? "subscribe again" : "reconnect",
      });
      o.repair(attempts)
        .catch((err) => o.log.error("reply path repair failed", { err, attempt: attempts }))
        .finally(() => {
          repairing = false;
          // Give the repair a whole window of probes before judging it.
          lastHeardSent = Math.max(lastHeardSent, o.clock.now() - deafAfterMs + 2 * intervalMs);
        });
    }
    timer = o.clock.setTimeout(tick, intervalMs);
  };
  timer = o.clock.setTimeout(tick, intervalMs);

  return {
    heard(sentAt) {
      if (sentAt <= lastHeardSent) return;
      lastHeardSent = sentAt;
      if (deaf) {
        o.log.info("reply path hears again", { attempts });
        deaf = false;
        attempts = 0;
      }
    },
    healthy: () => !deaf,
    stop() {
      stopped = true;
      o.clock.clearTimeout(timer);
    },
  };
}
