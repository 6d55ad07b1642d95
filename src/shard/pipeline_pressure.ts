// How far behind the shard is now: the oldest device reply it has taken and not yet committed
// (reply lag), how long transition commits take, and how many commands are in flight. Past a
// configured limit it names the reason, and the API answers new commands 503 with Retry-After
// instead of accepting work that could only time out; /readyz and /metrics show it too.
//
// The reply lag is the age of the replies waiting now, not of those committed lately: once a
// backlog is worked off (after an outage, say), new commands are accepted again at once, instead
// of for as long as a window remembers the backlog.
import { createHistogram, type Histogram } from "../runtime/metrics.ts";
import type { Clock } from "../async/time.ts";

export interface PressureLimits {
  /** Age (seconds) of the oldest reply not yet committed past which new commands are refused. */
  maxReplyLagSeconds: number;
  /** Transition commit p99 (seconds, over the last 10 s) past which new commands are refused. */
  maxCommitSeconds: number;
  /** In-flight commands past which new commands are refused. */
  maxInFlight: number;
}

export interface PipelinePressure {
  /** The shard took a reply the bridge received at `receivedAt`; call `committed` once its
   * effect is committed (or the reply is given back). */
  replyTaken(receivedAt: number): { committed(): void };
  /** A transition statement took `ms` to commit. */
  commit(ms: number): void;
  /** Why new commands should wait now, or undefined. */
  overloaded(): string | undefined;
  /** The gauges /metrics shows (seconds and counts). */
  gauges(): Record<string, number>;
  /** Every reply lag and commit latency since start, for /metrics. */
  histograms: readonly Histogram[];
}

/** Seconds: from a few milliseconds (a group commit on a quiet machine) to past any limit. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Samples of the last `windowMs`, at most `size` of them. */
class Window {
  private at: number[] = [];
  private values: number[] = [];
  constructor(private readonly size: number, private readonly windowMs: number) {}
  add(now: number, value: number) {
    this.at.push(now);
    this.values.push(value);
    if (this.at.length > this.size) {
      this.at.splice(0, this.at.length - this.size);
      this.values.splice(0, this.values.length - this.size);
    }
  }
  /** p99 and max of the samples within the window (0 when none). */
  stats(now: number): { p99: number; max: number; count: number } {
    let first = 0;
    while (first < this.at.length && this.at[first] < now - this.windowMs) first++;
    if (first > 0) {
      this.at.splice(0, first);
      this.values.splice(0, first);
    }
    if (this.values.length === 0) return { p99: 0, max: 0, count: 0 };
    const sorted = [...this.values].sort((a, b) => a - b);
    return {
      p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))],
      max: sorted[sorted.length - 1],
      count: sorted.length,
    };
  }
}

/** Commits within the window before their latency counts as a reason. */
const MIN_COMMITS = 20;

export function createPipelinePressure(
  limits: PressureLimits,
  o: {
    clock: Clock;
    inFlight(): number;
    /** How many command and device actors are live (not passivated), for /metrics. */
    liveActors?(): { commands: number; devices: number };
    windowMs?: number;
  },
): PipelinePressure {
  const windowMs = o.windowMs ?? 10_000;
  const lags = new Window(2_048, windowMs);
  const commits = new Window(512, windowMs);
  const lagHistogram = createHistogram(
    "downlink_reply_lag_seconds",
    "From the bridge receiving a device reply to its effect committed.",
    LATENCY_BUCKETS,
  );
  const commitHistogram = createHistogram(
    "downlink_commit_latency_seconds",
    "How long a lifecycle transition statement took to commit.",
    LATENCY_BUCKETS,
  );
  // Replies taken and not yet committed, by a token, with when the bridge received them.
  const waiting = new Map<number, number>();
  let next = 0;
  // The decision is read by every POST: recomputed at most every 250 ms.
  let decided: { at: number; reason: string | undefined } | undefined;

  const oldestWaitingMs = (now: number) => {
    let oldest = now;
    for (const at of waiting.values()) if (at < oldest) oldest = at;
    return now - oldest;
  };

  return {
    replyTaken(receivedAt) {
      const token = next++;
      waiting.set(token, receivedAt);
      return {
        committed() {
          if (!waiting.delete(token)) return;
          const now = o.clock.now();
          lags.add(now, now - receivedAt);
          lagHistogram.observe((now - receivedAt) / 1000);
        },
      };
    },
    commit(ms) {
      commits.add(o.clock.now(), ms);
      commitHistogram.observe(ms / 1000);
    },
    histograms: [lagHistogram, commitHistogram],
    overloaded() {
      const now = o.clock.now();
      if (decided && now - decided.at < 250) return decided.reason;
      const lag = oldestWaitingMs(now) / 1000;
      // A few slow commits (the first after an outage, a checkpoint) are not a trend.
      const commitStats = commits.stats(now);
      const commit = commitStats.count >= MIN_COMMITS ? commitStats.p99 / 1000 : 0;
      const inFlight = o.inFlight();
      const reason = lag > limits.maxReplyLagSeconds
        ? `a device reply has waited ${
          lag.toFixed(1)
        } s to be recorded (limit ${limits.maxReplyLagSeconds} s)`
        : commit > limits.maxCommitSeconds
        ? `lifecycle commits take ${commit.toFixed(1)} s (limit ${limits.maxCommitSeconds} s)`
        : inFlight > limits.maxInFlight
        ? `${inFlight} commands in flight (limit ${limits.maxInFlight})`
        : undefined;
      decided = { at: now, reason };
      return reason;
    },
    gauges() {
      const now = o.clock.now();
      const live = o.liveActors?.();
      const lag = lags.stats(now);
      const commit = commits.stats(now);
      return {
        downlink_reply_lag_p99_seconds: lag.p99 / 1000,
        downlink_reply_lag_max_seconds: lag.max / 1000,
        downlink_reply_backlog: waiting.size,
        downlink_reply_backlog_oldest_seconds: oldestWaitingMs(now) / 1000,
        downlink_commit_latency_p99_seconds: commit.p99 / 1000,
        downlink_commit_latency_max_seconds: commit.max / 1000,
        downlink_in_flight_commands: o.inFlight(),
        downlink_command_actors_live: live?.commands ?? 0,
        downlink_device_actors_live: live?.devices ?? 0,
      };
    },
  };
}
