// A command as the API shows it (the Query Response) and how a commands row becomes one: the
// single command's read and the list's share it.
import { rfc3339 } from "../command/timestamp.ts";
import type { CommandStatus } from "../command/status.ts";
import { type ProgressView, progressView } from "../command/progress.ts";
import { progressOfRow, type ProgressRow } from "./job_event_store.ts";

/** The Query Response: the seed's fields and the reference platform's; never the payload. */
export interface CommandView {
  command_id: string;
  status: CommandStatus;
  vendor: string;
  device_id: string;
  command_type: string;
  response_code?: string;
  response_message?: string;
  vendor_response?: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
  /** A long job's latest progress, once its dock reported some. */
  progress?: ProgressView;
  timeout_seconds: number;
  accepted_at: string;
  delivered_at?: string;
  response_received_at?: string;
  completed_at?: string;
  deadline_at: string;
  updated_at: string;
}

export interface CommandRow {
  command_id: string;
  status: CommandStatus;
  vendor: string;
  device_id: string;
  command_type: string;
  response_code: string | null;
  response_message: string | null;
  vendor_response: Record<string, unknown> | null;
  failure_code: string | null;
  failure_reason: string | null;
  timeout_seconds: number;
  accepted_at: Date;
  delivered_at: Date | null;
  response_received_at: Date | null;
  completed_at: Date | null;
  deadline_at: Date;
  updated_at: Date;
  /** The job's latest progress row (PROGRESS_COLUMN), when it has one. */
  progress?: ProgressRow | null;
}

/** The select-list item that reads a command's progress row as JSON (alias `progress`). */
export const PROGRESS_COLUMN =
  "(select to_jsonb(p) from command_progress p where p.command_id = commands.command_id) as progress";

/** Row → Query Response; a column without a value is left out. */
export function toCommandView(row: CommandRow): CommandView {
  const view: Record<string, unknown> = {
    command_id: row.command_id,
    status: row.status,
    vendor: row.vendor,
    device_id: row.device_id,
    command_type: row.command_type,
  };
  const optional = {
    response_code: row.response_code,
    response_message: row.response_message,
    vendor_response: row.vendor_response,
    failure_code: row.failure_code,
    failure_reason: row.failure_reason,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== null && v !== undefined) view[k] = v;
  if (row.progress) view.progress = progressView(progressOfRow(row.progress));
  view.timeout_seconds = row.timeout_seconds;
  const times = {
    accepted_at: row.accepted_at,
    delivered_at: row.delivered_at,
    response_received_at: row.response_received_at,
    completed_at: row.completed_at,
    deadline_at: row.deadline_at,
    updated_at: row.updated_at,
  };
  for (const [k, v] of Object.entries(times)) if (v) view[k] = rfc3339(v);
  return view as unknown as CommandView;
}
