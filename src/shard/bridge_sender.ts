// Hands commands to the bridge, each at most once in its life. A command is claimed for sending in
// Postgres (committed) before the bridge gets it; a command claimed before, by this host or an
// earlier one (a restart, a JetStream redelivery, a lease that moved), may have reached the dock
// and is never handed over again: a dock would run it twice.
import type { LifecycleStore, SendClaim } from "../store/lifecycle_store.ts";
import { createGroupCommit } from "../store/group_commit.ts";
import type { Link, OutboundCommand } from "../link/link.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";
import { exponential, linear, retry, retryAfter } from "../async/retry.ts";

export interface BridgeSenderOptions {
  store: Pick<LifecycleStore, "claimSends">;
  /** What carries a claimed command to a bridge. */
  link: Pick<Link, "command">;
  clock: Clock;
  log: Logger;
  count(name: string): void;
  /** The command was claimed before: it is not sent (it may have reached the device). */
  onSkipped(command: OutboundCommand): void;
  /** The command is no longer in flight (it finished meanwhile): nothing to send. */
  onGone(command: OutboundCommand): void;
}

export interface BridgeSender {
  /** Claims the command and hands it to the bridge; commands of one device keep their order. */
  send(command: OutboundCommand, partition: number): void;
}

interface Queued {
  command: OutboundCommand;
  partition: number;
}

/** The waits between claim statements while Postgres is away. */
const CLAIM_BACKOFF = exponential(100, 2_000);
/** The waits between hand-overs the link did not take. */
const HAND_OVER_BACKOFF = linear(200, 2_000);
const noop = () => {};
/** A claim statement this slow is logged: its commands reach their docks that much later. */
const SLOW_CLAIM_MS = 1_000;

export function createBridgeSender(o: BridgeSenderOptions): BridgeSender {
  /** Claims a batch, retrying while Postgres is away; a command past its deadline is dropped
   * (its deadline ends it). */
  async function claim(batch: Queued[]): Promise<void> {
    let claims: Map<string, SendClaim>;
    // One id for every attempt of this batch: an attempt whose answer was lost committed claims
    // the next attempt must recognise as its own.
    const claim = crypto.randomUUID();
    try {
      claims = await retry(async () => {
        const started = o.clock.now();
        const claimed = await o.store.claimSends(batch.map((q) => q.command.command_id), claim);
        const ms = o.clock.now() - started;
        // Every command of the batch, and each device's next one, waited this long to go out.
        if (ms >= SLOW_CLAIM_MS) {
          o.log.warn("claiming commands for sending was slow", { ms, commands: batch.length });
        }
        return claimed;
      }, {
        clock: o.clock,
        backoff: CLAIM_BACKOFF,
        giveUp: (err, attempt) => {
          const now = o.clock.now();
          batch = batch.filter((q) => q.command.deadline_at > now);
          if (batch.length === 0) return true;
          if (attempt % 10 === 0) {
            o.log.error("could not claim commands for sending, retrying", {
              err,
              commands: batch.length,
            });
          }
          return false;
        },
      });
    } catch {
      return;
    }
    for (const { command, partition } of batch) {
      const claim = claims.get(command.command_id);
      if (claim === "claimed") handOver(command, partition);
      else if (claim === "sent") {
        o.count("sends_skipped");
        o.log.warn("command was handed to the bridge before; not sending it again", {
          command_id: command.command_id,
        });
        o.onSkipped(command);
      } else o.onGone(command);
    }
  }

  // Several claim statements at once: they need no order among themselves, since a device's
  // next command is handed over only once the previous one is delivered, skipped or finished
  // (the device shard's gate), and a claim waiting behind another adds its commit to the
  // command's way to the dock.
  const claims = createGroupCommit<Queued>(claim, { concurrency: 4 });

  function handOver(command: OutboundCommand, partition: number): void {
    // Until a bridge has it, or until the deadline ends the command (a copy the link carries
    // twice is dropped on the way: the command id is its msgID).
    // The first attempt is made here, the helper joins only when it fails: one command, no
    // retry machinery on the way of the thousands that go through at once.
    const publish = () => o.link.command(command, partition);
    publish().then(noop, (err) =>
      retryAfter(err, publish, {
        clock: o.clock,
        backoff: HAND_OVER_BACKOFF,
        giveUp: (err, attempt) => {
          if (o.clock.now() > command.deadline_at) {
            o.log.error("could not hand command to the bridge before its deadline", {
              err,
              command_id: command.command_id,
            });
            return true;
          }
          if (attempt % 10 === 0) {
            o.log.warn("handing command to the bridge failed, retrying", {
              err,
              command_id: command.command_id,
            });
          }
          return false;
        },
      }).catch(noop));
  }

  return {
    send(command, partition) {
      claims.add({ command, partition });
    },
  };
}
