// The HTTP side of one soak minute: the load's requests answered since the previous look, by
// status, with the latency of the accepted ones. A request still unanswered waits for a later
// minute, so each answer is counted exactly once, in the minute it arrived.
import type { Submission } from "../faults/steady_load.ts";

export interface AcceptCounts {
  accepted: number;
  http503: number;
  /** Refused or reset connections, and statuses other than 202 and 503. */
  other: number;
  /** Latency (ms) of every 202 in the window. */
  acceptLatenciesMs: number[];
}

export interface AcceptWindow {
  /** What was answered since the previous call. */
  take(): AcceptCounts;
}

export function createAcceptWindow(submissions: readonly Submission[]): AcceptWindow {
  let cursor = 0;
  // Indices of requests seen unanswered; an open loop rarely leaves more than a few.
  let waiting: number[] = [];
  return {
    take() {
      const out: AcceptCounts = { accepted: 0, http503: 0, other: 0, acceptLatenciesMs: [] };
      const still: number[] = [];
      const look = (i: number) => {
        const s = submissions[i];
        if (s.status === undefined) return still.push(i);
        if (s.status === 202) {
          out.accepted++;
          out.acceptLatenciesMs.push(s.latencyMs!);
        } else if (s.status === 503) out.http503++;
        else out.other++;
      };
      for (const i of waiting) look(i);
      for (; cursor < submissions.length; cursor++) look(cursor);
      waiting = still;
      return out;
    },
  };
}
