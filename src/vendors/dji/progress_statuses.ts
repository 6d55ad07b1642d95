// Catalog data: the statuses that end a job, per `events` method that reports progress
// (PROTOCOL §3.5, §4.0b, §4.1; DEMO's status enums). A progress in one of these sets the Query
// Response's progress.finished_at and ends a wait ?until=finished. Data, not code: a method's
// statuses change here only.

/** DJI's generic job statuses (`sent, in_progress, ok, paused, rejected, failed, canceled,
 * timeout`): every one but sent, in_progress and paused ends the job (PROTOCOL §2.2). */
const JOB_END = ["ok", "rejected", "failed", "canceled", "timeout"] as const;

/** Terminal statuses of each progress event; a method not listed uses JOB_END. */
export const PROGRESS_TERMINAL_STATUSES: Readonly<Record<string, readonly string[]>> = {
  // §3.5: DEMO's FileUploadStatusEnum; done = ok, canceled, failed = failed/rejected/timeout.
  fileupload_progress: JOB_END,
  // §4.1: flighttask_progress adds partially_done to the job statuses.
  flighttask_progress: [...JOB_END, "partially_done"],
  in_flight_wayline_progress: [...JOB_END, "partially_done"],
  // §4.0b: wayline_progress runs; wayline_ok, wayline_failed, wayline_cancel end the flight.
  fly_to_point_progress: ["wayline_ok", "wayline_failed", "wayline_cancel"],
  // §4.1: task_ready and wayline_progress run; the flight to the point ends with wayline_ok,
  // wayline_failed or wayline_cancel, the task with task_finish.
  takeoff_to_point_progress: ["wayline_ok", "wayline_failed", "wayline_cancel", "task_finish"],
  // DOC custom-flight-area: wait_sync and synchronizing run; synchronized and fail end it.
  flight_areas_sync_progress: ["synchronized", "fail"],
  // §4.0b: RC Pro's answer to cloud_control_auth_request is ok, failed or canceled.
  cloud_control_auth_notify: ["ok", "failed", "canceled"],
};

/** Statuses among the terminal ones that mean the job did not do what it was asked. */
export const PROGRESS_FAILED_STATUSES: readonly string[] = [
  "rejected",
  "failed",
  "canceled",
  "timeout",
  "wayline_failed",
  "wayline_cancel",
  "fail",
];

export function terminalStatusesOf(progressEvent: string): readonly string[] {
  return PROGRESS_TERMINAL_STATUSES[progressEvent] ?? JOB_END;
}
