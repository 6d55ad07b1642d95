// The Postgres side of one soak minute, read from Downlink's `commands` table without scanning
// it whole (it only grows): each look reads the rows accepted since the last ones already
// settled, through the (tenant_id, accepted_at) index. A row past its deadline plus a margin is
// settled: its status is final, it is judged against what its dock did, and never read again.
import type postgres from "postgres";
import type { DockRecord } from "../faults/recording_docks.ts";
import { TERMINAL } from "../faults/command_rows.ts";

/** A reply this close to the deadline may be taken or not; either outcome is right. */
const TOLERANCE_MS = 1_000;

export interface CommandLook {
  /** Commands by status, settled and not, so far. */
  totals: Record<string, number>;
  /** Dock publishing its reply → the row's `response_received_at` (the bridge read it), ms, for
   * the replies first seen in a row by this look. */
  replyLagsMs: number[];
  /** Dock publishing its reply → the terminal row's `updated_at` (its commit), ms. */
  commitLagsMs: number[];
  /** Settled commands judged wrong so far, e.g. "answered in time → TIMED_OUT": 3. */
  wrong: Record<string, number>;
  /** The first few wrong commands with their times (ms since epoch), to look them up. */
  wrongExamples: WrongExample[];
  /** Settled commands whose dock never received them (no reply to judge). */
  neverReachedDock: number;
  rows: number;
}

export interface WrongExample {
  commandId: string;
  why: string;
  acceptedAt: number;
  deadlineAt: number;
  replySentAt?: number;
  responseReceivedAt?: number;
  updatedAt: number;
}

export interface CommandWindow {
  /** Reads the rows; with `settleAll`, every row is taken as final (after the last deadline). */
  look(now: number, settleAll?: boolean): Promise<CommandLook>;
}

interface Row {
  command_id: string;
  status: string;
  accepted_at: Date;
  deadline_at: Date;
  response_received_at: Date | null;
  updated_at: Date;
}

export function createCommandWindow(o: {
  sql: postgres.Sql;
  schema: string;
  tenantId: string;
  /** The docks' records by tid. A settled command's record is taken out: over 30 minutes the
   * soak would otherwise keep 360,000 of them, and its collector's work would be the machine's
   * noise that the accept and lag targets measure. */
  docks: Map<string, DockRecord>;
  timeoutSeconds: number;
  marginSeconds: number;
}): CommandWindow {
  const settled: Record<string, number> = {};
  const wrong: Record<string, number> = {};
  const wrongExamples: WrongExample[] = [];
  let neverReachedDock = 0;
  let settledRows = 0;
  let settledBefore = new Date(0);
  // Rows whose reply lag was taken; forgotten when the row settles.
  const lagTaken = new Set<string>();
  const add = (m: Record<string, number>, k: string) => m[k] = (m[k] ?? 0) + 1;

  const settle = (r: Row) => {
    add(settled, r.status);
    settledRows++;
    lagTaken.delete(r.command_id);
    const dock = o.docks.get(r.command_id);
    o.docks.delete(r.command_id);
    const judgeWrong = (why: string) => {
      add(wrong, why);
      if (wrongExamples.length >= 20) return;
      wrongExamples.push({
        commandId: r.command_id,
        why,
        acceptedAt: r.accepted_at.getTime(),
        deadlineAt: r.deadline_at.getTime(),
        replySentAt: dock?.replySentAt,
        responseReceivedAt: r.response_received_at?.getTime(),
        updatedAt: r.updated_at.getTime(),
      });
    };
    if (!TERMINAL.has(r.status)) return judgeWrong(`never terminal (${r.status})`);
    if (dock?.replySentAt === undefined) {
      neverReachedDock++;
      // With every dock answering 0 at once, a command its dock never got is Downlink's (or the
      // broker's) doing; the verdict names it.
      return;
    }
    const inTime = dock.replySentAt <= r.deadline_at.getTime() - TOLERANCE_MS;
    if (inTime && r.status !== "SUCCEEDED") judgeWrong(`answered 0 in time → ${r.status}`);
  };

  return {
    async look(now, settleAll = false) {
      const settleBefore = settleAll
        ? new Date(8.64e15)
        : new Date(now - (o.timeoutSeconds + o.marginSeconds) * 1000);
      const rows = await o.sql<Row[]>`
        select command_id::text, status, accepted_at, deadline_at, response_received_at,
               updated_at
        from ${o.sql(o.schema)}.commands
        where tenant_id = ${o.tenantId} and accepted_at >= ${settledBefore}`;
      const open: Record<string, number> = {};
      const replyLagsMs: number[] = [];
      const commitLagsMs: number[] = [];
      for (const r of rows) {
        const sentAt = o.docks.get(r.command_id)?.replySentAt;
        if (r.response_received_at && sentAt !== undefined && !lagTaken.has(r.command_id)) {
          lagTaken.add(r.command_id);
          replyLagsMs.push(r.response_received_at.getTime() - sentAt);
          if (TERMINAL.has(r.status)) commitLagsMs.push(r.updated_at.getTime() - sentAt);
        }
        if (r.accepted_at < settleBefore) settle(r);
        else add(open, r.status);
      }
      if (!settleAll) settledBefore = settleBefore;
      const totals = { ...settled };
      for (const [k, n] of Object.entries(open)) totals[k] = (totals[k] ?? 0) + n;
      return {
        totals,
        replyLagsMs,
        commitLagsMs,
        wrong: { ...wrong },
        wrongExamples: [...wrongExamples],
        neverReachedDock,
        rows: settledRows + Object.values(open).reduce((a, b) => a + b, 0),
      };
    },
  };
}
