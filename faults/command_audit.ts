// Judges a scenario's commands after the run: each accepted command's final row against what
// its dock did, how often the dock got it, its lifecycle events, and the HTTP answers the load
// saw. Every count a scenario must keep at zero is a field of `FailingCounts`.
import type { DockBehaviour, DockRecord } from "./recording_docks.ts";
import type { Submission } from "./steady_load.ts";
import type { EventLog } from "./event_audit.ts";
import { judgeTrail } from "./event_audit.ts";
import { type CommandRow, TERMINAL } from "./command_rows.ts";

/** Counts that must be 0 for a scenario to pass. */
export interface FailingCounts {
  lost: number;
  neverTerminal: number;
  wronglyFinished: number;
  publishedAgain: number;
  eventsMissing: number;
  eventsDoubled: number;
  eventsOutOfOrder: number;
}

export interface Audit extends FailingCounts {
  accepted: number;
  /** Information: accepted commands their dock never received (TIMED_OUT is right for them). */
  neverReachedDock: number;
  /** Information: of `publishedAgain`, those with a copy over 1 s after the row's delivered_at. */
  againAfterDelivered: number;
  /** Information: commands a dock received with the DUP flag (the broker resending). */
  withDupCopies: number;
  http503: number;
  p99Of503Ms?: number;
  /** Requests answered after more than 10 s, or never. */
  noAnswerIn10s: number;
  /** Refused or reset connections, and statuses other than 202 and 503. */
  otherErrors: number;
  /** Information: accepted commands by final status ("no row" for lost ones). */
  statuses: Map<string, number>;
  /** What each non-zero count is made of, e.g. "answered 0 in time → TIMED_OUT": 12. */
  findings: Map<string, number>;
  /** The timeline of the first few commands behind a failing count, to tell a cause from. */
  examples: string[];
}

const MAX_EXAMPLES = 5;
/** How often the suite reads /readyz: a deaf spell may last this long past its last sample. */
const READINESS_POLL_MS = 150;

/** A reply this close to the deadline may be taken or not; either outcome is right. */
const TOLERANCE_MS = 1_000;

export function auditCommands(o: {
  submissions: readonly Submission[];
  rows: ReadonlyMap<string, CommandRow>;
  docks: ReadonlyMap<string, DockRecord>;
  behaviourOf: (deviceId: string) => DockBehaviour | undefined;
  events: EventLog;
  /** Date.now() of the fault: each finding says whether its command was sent before or after. */
  faultAt: number;
  /** The last time after the fault /readyz said the bridge heard no replies (mqtt_replies). */
  deafUntil?: number;
}): Audit {
  const findings = new Map<string, number>();
  let when = "";
  const note = (what: string) => {
    const key = `${what}${when}`;
    findings.set(key, (findings.get(key) ?? 0) + 1);
  };
  const a: Audit = {
    accepted: 0,
    lost: 0,
    neverTerminal: 0,
    wronglyFinished: 0,
    publishedAgain: 0,
    eventsMissing: 0,
    eventsDoubled: 0,
    eventsOutOfOrder: 0,
    neverReachedDock: 0,
    againAfterDelivered: 0,
    withDupCopies: 0,
    http503: 0,
    noAnswerIn10s: 0,
    otherErrors: 0,
    statuses: new Map(),
    findings,
    examples: [],
  };
  const latencies503: number[] = [];
  const example = (what: string, s: Submission, row: CommandRow, dock?: DockRecord) => {
    if (a.examples.length < MAX_EXAMPLES) {
      a.examples.push(
        `${s.commandId} on ${s.deviceId}: ${what}; ${timeline(s, row, dock, o.faultAt)}`,
      );
    }
  };
  for (const s of o.submissions) {
    when = s.sentAt < o.faultAt ? " (sent before the fault)" : " (sent after the fault)";
    if (s.status === undefined || (s.latencyMs ?? 0) > 10_000) a.noAnswerIn10s++;
    if (s.status === 503) {
      a.http503++;
      latencies503.push(s.latencyMs!);
    } else if (s.status !== undefined && s.status !== 202) {
      a.otherErrors++;
      note(`HTTP ${s.status}${s.code ? ` ${s.code}` : ""}`);
    }
    if (s.status !== 202 || !s.commandId) continue;
    a.accepted++;
    const row = o.rows.get(s.commandId);
    const dock = o.docks.get(s.commandId);
    const status = row?.status ?? "no row";
    a.statuses.set(status, (a.statuses.get(status) ?? 0) + 1);
    if (!row) {
      a.lost++;
      note("accepted, no row");
      continue;
    }
    if (!TERMINAL.has(row.status)) {
      a.neverTerminal++;
      note(`still ${row.status} after deadline + margin`);
    } else {
      const wrong = judgeOutcome(row, dock, o.behaviourOf(s.deviceId), {
        faultAt: o.faultAt,
        deafUntil: o.deafUntil,
      });
      if (wrong) {
        a.wronglyFinished++;
        note(wrong);
        example(wrong, s, row, dock);
      }
    }
    if (!dock) a.neverReachedDock++;
    else {
      if (dock.plain > 1) {
        a.publishedAgain++;
        note(`received ${dock.plain} times without DUP`);
        example(`received ${dock.plain} times without DUP`, s, row, dock);
        const late = row.deliveredAt !== undefined &&
          dock.plainAt.slice(1).some((t) => t > row.deliveredAt! + 1_000);
        if (late) a.againAfterDelivered++;
      }
      if (dock.dup > 0) a.withDupCopies++;
    }
    const trail = o.events.trails.get(s.commandId) ?? [];
    const verdict = judgeTrail(trail, {
      terminal: TERMINAL.has(row.status),
      delivered: row.deliveredAt !== undefined,
    });
    if (verdict.missing.length > 0) a.eventsMissing++;
    if (verdict.doubled.length > 0) a.eventsDoubled++;
    if (verdict.outOfOrder) {
      a.eventsOutOfOrder++;
      note(`events out of order: ${trail.join(",")}`);
    }
    for (const f of [...verdict.missing, ...verdict.doubled]) note(`event ${f}`);
  }
  if (o.events.repeatedIds > 0) {
    a.eventsDoubled += o.events.repeatedIds;
    findings.set("event_id seen twice", o.events.repeatedIds);
  }
  if (latencies503.length > 0) {
    latencies503.sort((x, y) => x - y);
    a.p99Of503Ms =
      latencies503[Math.min(latencies503.length - 1, Math.ceil(0.99 * latencies503.length) - 1)];
  }
  return a;
}

/** When each step of one command happened, in seconds from the fault (negative: before it). */
function timeline(s: Submission, row: CommandRow, dock: DockRecord | undefined, faultAt: number) {
  const at = (label: string, t: number | undefined) =>
    t === undefined ? `${label} -` : `${label} ${((t - faultAt) / 1000).toFixed(2)}`;
  return [
    at("sent", s.sentAt),
    at("accepted", s.latencyMs === undefined ? undefined : s.sentAt + s.latencyMs),
    at("delivered", row.deliveredAt),
    ...(dock?.plainAt ?? []).map((t) => at("at dock", t)),
    at("reply sent", dock?.replySentAt),
    at("reply acked", dock?.replyAckedAt),
    at("deadline", row.deadlineAt),
    at("completed", row.completedAt),
  ].join(", ");
}

/** Why a terminal row is wrong given what its dock did, or undefined when it is right. */
function judgeOutcome(
  row: CommandRow,
  dock: DockRecord | undefined,
  behaviour: DockBehaviour | undefined,
  fault: { faultAt: number; deafUntil?: number },
): string | undefined {
  const got = row.status === "FAILED" || row.status === "SUCCEEDED"
    ? `${row.status} ${row.responseCode}`
    : row.status;
  if (!dock) return row.status === "TIMED_OUT" ? undefined : `never reached dock → ${got}`;
  if (behaviour === undefined || behaviour === "silent") {
    return row.status === "TIMED_OUT" ? undefined : `silent dock → ${got}`;
  }
  const code = String(behaviour.result);
  const answered = row.status === (behaviour.result === 0 ? "SUCCEEDED" : "FAILED") &&
    row.responseCode === code;
  const sent = dock.replySentAt;
  const acked = dock.replyAckedAt;
  if (
    acked !== undefined && acked >= fault.faultAt && fault.deafUntil !== undefined &&
    acked <= fault.deafUntil + READINESS_POLL_MS
  ) {
    // Taken by the broker while Downlink said it heard no replies, e.g. resent by the dock's
    // client into a restarted broker: a broker keeps no shared subscription across a restart,
    // and drops what reaches it before a subscriber is back. Either outcome is right.
    return answered || row.status === "TIMED_OUT" ? undefined : `answered ${code} → ${got}`;
  }
  if (acked !== undefined && acked < row.deadlineAt - TOLERANCE_MS) {
    return answered ? undefined : `answered ${code} in time → ${got}`;
  }
  if (sent !== undefined && sent < row.deadlineAt + TOLERANCE_MS) {
    // Sent near the deadline, or sent but never acknowledged by the broker: either is right.
    return answered || row.status === "TIMED_OUT" ? undefined : `answered ${code} late → ${got}`;
  }
  return row.status === "TIMED_OUT" ? undefined : `no answer before the deadline → ${got}`;
}
