// How late the one JavaScript thread runs, as Prometheus gauges: every request waits that long
// before it is even accepted. Sampled by a timer of our own because Deno's
// perf_hooks.monitorEventLoopDelay is a stub that records nothing.
import type { MetricsRegistry } from "./metrics.ts";
import { backgroundClock, type Clock } from "../async/time.ts";

export interface EventLoopDelayOptions {
  /** How often the timer asks to run, in ms; a delay shorter than this may go unseen. */
  intervalMs?: number;
  /** How many of the latest delays the quantiles are taken from (the max sees every one). */
  window?: number;
  /** Default: monotonic (a stepped wall clock would read as lateness) with unref'd timers. */
  clock?: Clock;
}

/** The delays since the previous take, in ms; all 0 when the timer has not run since. */
export interface EventLoopDelaySnapshot {
  p50: number;
  p99: number;
  max: number;
  /** How many times the timer ran. */
  samples: number;
}

export interface EventLoopDelay {
  /** The delays since the previous take; the next take starts from now. */
  take(): EventLoopDelaySnapshot;
  stop(): void;
}

/**
 * Starts a timer that asks to run every `intervalMs` and records how much later than that it
 * ran. A tick writes one number into a preallocated ring; besides the timer the runtime arms,
 * nothing is allocated per tick.
 */
export function startEventLoopDelay(
  { intervalMs = 20, window = 1024, clock = backgroundClock }: EventLoopDelayOptions = {},
): EventLoopDelay {
  const ring = new Float64Array(window);
  const sorted = new Float64Array(window);
  let count = 0;
  let max = 0;
  let last = clock.now();
  let timer: unknown;

  const tick = () => {
    const now = clock.now();
    const delay = Math.max(0, now - last - intervalMs);
    ring[count % window] = delay;
    count++;
    if (delay > max) max = delay;
    // Measured from when this tick ran, not when it was due, so one stall counts once.
    last = now;
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);

  return {
    take() {
      const n = Math.min(count, window);
      const latest = sorted.subarray(0, n);
      latest.set(ring.subarray(0, n));
      latest.sort();
      // Nearest rank: a delay that was actually seen, never an interpolation.
      const rank = (q: number) => n === 0 ? 0 : latest[Math.ceil(q * n) - 1];
      const snapshot = { p50: rank(0.5), p99: rank(0.99), max, samples: count };
      count = 0;
      max = 0;
      return snapshot;
    },
    stop() {
      clock.clearTimeout(timer);
    },
  };
}

const HELP: Record<string, string> = {
  downlink_event_loop_delay_p50_seconds:
    "Median of how late the event loop ran a timer since the previous scrape, in seconds.",
  downlink_event_loop_delay_p99_seconds:
    "99th percentile of how late the event loop ran a timer since the previous scrape, in seconds.",
  downlink_event_loop_delay_max_seconds:
    "Longest the event loop ran a timer late since the previous scrape, in seconds.",
};

/** The gauges above; each scrape reads the delays since the previous one and starts anew. */
export function registerEventLoopDelay(
  registry: MetricsRegistry,
  sampler: Pick<EventLoopDelay, "take">,
): void {
  registry.gauges(() => {
    const d = sampler.take();
    return {
      downlink_event_loop_delay_p50_seconds: d.p50 / 1000,
      downlink_event_loop_delay_p99_seconds: d.p99 / 1000,
      downlink_event_loop_delay_max_seconds: d.max / 1000,
    };
  }, HELP);
}
