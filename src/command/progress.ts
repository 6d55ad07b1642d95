// A long job's progress as Downlink keeps it beside its command (the Query Response's
// `progress`), and the rule for what a new report changes and whether it is published as
// `command.progress`. Pure: times are given, nothing is read or written here.
import { rfc3339 } from "./timestamp.ts";

/** The link key of a command's own bid (the vendor adds keys of other kinds: flight:, file:). */
export const bidKey = (bid: string) => `bid:${bid}`;

/** The latest progress of a command's job. Times are epoch ms. */
export interface CommandProgress {
  status: string;
  percent?: number;
  step?: string;
  result?: number;
  /** DJI's documented text for a non-zero result (as a failed command's failure_reason). */
  failure_reason?: string;
  detail?: Record<string, unknown>;
  updated_at: number;
  /** When a terminal status was first reported. */
  finished_at?: number;
  /** The dock's timestamp of the report this is, to recognise one that arrives late. */
  device_timestamp?: number;
  /** When the latest command.progress was published, and the status it carried. */
  published_at?: number;
  published_status?: string;
}

/** A report as read from the dock, with what the caller knows of it. */
export interface ProgressReport {
  status: string;
  percent?: number;
  step?: string;
  result?: number;
  failure_reason?: string;
  detail?: Record<string, unknown>;
  device_timestamp?: number;
  /** Whether `status` ends the job (catalog data, per progress event). */
  terminal: boolean;
  at: number;
}

export interface ProgressStep {
  /** The progress to store; undefined when the report changes nothing (late, or the same). */
  progress?: CommandProgress;
  /** Whether a command.progress event is due for it. */
  publish: boolean;
}

/** While nothing but the percent changes, at most one command.progress per this long. */
export const PERCENT_EVENT_INTERVAL_MS = 1_000;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What `report` makes of `previous`. A report older (by the dock's timestamp) than the one
 * stored is late: MQTT's shared subscription hands a dock's messages to several connections,
 * so they can arrive out of order, and the newer one stands. A status, step or result change is
 * always published; a change of percent or detail alone at most once per second.
 */
export function nextProgress(
  previous: CommandProgress | undefined,
  report: ProgressReport,
): ProgressStep {
  if (
    previous?.device_timestamp !== undefined && report.device_timestamp !== undefined &&
    report.device_timestamp < previous.device_timestamp
  ) {
    return { publish: false };
  }
  const progress: CommandProgress = {
    status: report.status,
    updated_at: report.at,
    ...(report.percent !== undefined ? { percent: report.percent } : {}),
    ...(report.step !== undefined ? { step: report.step } : {}),
    ...(report.result !== undefined ? { result: report.result } : {}),
    ...(report.failure_reason !== undefined ? { failure_reason: report.failure_reason } : {}),
    ...(report.detail !== undefined ? { detail: report.detail } : {}),
    ...(report.device_timestamp !== undefined ? { device_timestamp: report.device_timestamp } : {}),
  };
  // Progress after the end is still recorded, but the job ended when it first said so.
  const finished_at = previous?.finished_at ?? (report.terminal ? report.at : undefined);
  if (finished_at !== undefined) progress.finished_at = finished_at;
  if (previous?.published_at !== undefined) progress.published_at = previous.published_at;
  if (previous?.published_status !== undefined) {
    progress.published_status = previous.published_status;
  }

  const keyChanged = !previous || previous.status !== progress.status ||
    previous.step !== progress.step || previous.result !== progress.result ||
    previous.published_status !== progress.status;
  const restChanged = !previous || previous.percent !== progress.percent ||
    !sameJson(previous.detail, progress.detail);
  if (!keyChanged && !restChanged) return { publish: false };
  const due = previous?.published_at === undefined ||
    report.at - previous.published_at >= PERCENT_EVENT_INTERVAL_MS;
  const publish = keyChanged || due;
  if (publish) {
    progress.published_at = report.at;
    progress.published_status = progress.status;
  }
  return { progress, publish };
}

/** The Query Response's `progress`: the stored progress without its bookkeeping. */
export interface ProgressView {
  status: string;
  percent?: number;
  step?: string;
  result?: number;
  failure_reason?: string;
  detail?: Record<string, unknown>;
  updated_at: string;
  finished_at?: string;
}

export function progressView(p: CommandProgress): ProgressView {
  return {
    status: p.status,
    ...(p.percent !== undefined ? { percent: p.percent } : {}),
    ...(p.step !== undefined ? { step: p.step } : {}),
    ...(p.result !== undefined ? { result: p.result } : {}),
    ...(p.failure_reason !== undefined ? { failure_reason: p.failure_reason } : {}),
    ...(p.detail !== undefined ? { detail: p.detail } : {}),
    updated_at: rfc3339(p.updated_at),
    ...(p.finished_at !== undefined ? { finished_at: rfc3339(p.finished_at) } : {}),
  };
}
