// One soak minute as measured, and the fixed-width line it prints: the accepts and 503s of the
// minute, the lifecycle totals so far, the latencies the targets are about, Downlink's memory,
// and the size and dead rows of its tables.
import type { TableSize, WatchedTable } from "./table_sizes.ts";

export interface MinuteSample {
  /** Minutes of load at the end of this window (the last one may be partial: 2.5). */
  minute: number;
  /** Printed instead of the minute, for the reading taken after the drain. */
  label?: string;
  accepted: number;
  http503: number;
  /** Refused or reset connections, and statuses other than 202 and 503. */
  otherErrors: number;
  /** Commands by status so far, from the `commands` table. */
  totals: Record<string, number>;
  /** Replies first seen in a row during this minute, and their lag percentiles (ms). */
  replies: number;
  replyLagP99Ms?: number;
  replyLagMaxMs?: number;
  commitLagP99Ms?: number;
  commitLagMaxMs?: number;
  acceptP99Ms?: number;
  /** Downlink's own accept p99 over the minute (its /metrics histogram): the upper bound of the
   * bucket it falls in, ms. Apart from `acceptP99Ms`, the rest is the network and the caller. */
  downlinkAcceptP99Ms?: number;
  rssBytes: number;
  heapUsedBytes?: number;
  /** Downlink's CPU over the minute, percent of one core; the machine's idle share, percent. */
  downlinkCpuPercent?: number;
  machineIdlePercent?: number;
  /** Downlink's own view (GET /metrics): bridge → commit reply lag p99 over its last 10 s. */
  downlinkReplyLagP99Ms?: number;
  inFlight?: number;
  tables: Record<WatchedTable, TableSize>;
}

const COLUMNS: [string, number][] = [
  ["min", 5],
  ["202s", 6],
  ["SUCCEEDED", 10],
  ["FAILED", 7],
  ["TIMED_OUT", 10],
  ["503", 5],
  ["reply_p99", 10],
  ["commit_p99", 11],
  ["accept_p99", 11],
  ["dl_accept", 10],
  ["rss", 8],
  ["heap", 8],
  ["cpu", 5],
  ["idle", 5],
  ["in_flight", 10],
  ["tables size/live/dead: commands cmd_outbox ev_outbox in_flight nonces", 0],
];

export function minuteHeader(): string {
  return COLUMNS.map(([name, width]) => name.padStart(width)).join(" ");
}

const ms = (v?: number) => v === undefined ? "-" : `${Math.round(v)}ms`;
const pct = (v?: number) => v === undefined ? "-" : `${Math.round(v)}%`;
const mib = (v?: number) => v === undefined ? "-" : `${(v / 2 ** 20).toFixed(0)}M`;
const size = (t: TableSize) =>
  `${
    t.bytes >= 2 ** 20 ? `${(t.bytes / 2 ** 20).toFixed(1)}M` : `${(t.bytes / 1024).toFixed(0)}k`
  }/${t.liveTuples}/${t.deadTuples}`;

export function minuteLine(s: MinuteSample): string {
  const cells = [
    s.label ?? Number(s.minute.toFixed(2)),
    s.accepted,
    s.totals.SUCCEEDED ?? 0,
    s.totals.FAILED ?? 0,
    s.totals.TIMED_OUT ?? 0,
    s.http503,
    ms(s.replyLagP99Ms),
    ms(s.commitLagP99Ms),
    ms(s.acceptP99Ms),
    s.downlinkAcceptP99Ms === undefined
      ? "-"
      : s.downlinkAcceptP99Ms === Infinity
      ? ">10s"
      : `≤${ms(s.downlinkAcceptP99Ms)}`,
    mib(s.rssBytes),
    mib(s.heapUsedBytes),
    pct(s.downlinkCpuPercent),
    pct(s.machineIdlePercent),
    s.inFlight ?? "-",
    [
      s.tables.commands,
      s.tables.command_outbox,
      s.tables.event_outbox,
      s.tables.in_flight_commands,
      s.tables.api_nonces,
    ].map((t) => t ? size(t) : "-").join(" "),
  ];
  return cells.map((c, i) => String(c).padStart(COLUMNS[i][1])).join(" ");
}
