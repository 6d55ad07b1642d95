// What a simulated dock reports on `events` after it accepted a long job: the job's progress
// event (its catalog `progress_event`) in the shape DJI documents for that method, several steps
// with the command's bid, ending `ok` (or the method's success status) or failed with a code.
import { findCommand } from "../vendors/dji/catalog.ts";
import { systemClock } from "../async/time.ts";

export interface ProgressScriptOptions {
  /** In-progress reports before the last one (default 2). */
  steps?: number;
  /** Ends failed with this result instead of ok. */
  failCode?: number;
  /** Asks for an events_reply on every report. */
  needReply?: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

// Methods whose progress event puts status and result flat in data (PROTOCOL §4.0b).
const FLAT: Record<string, { running: string; ok: string; failed: string }> = {
  fly_to_point_progress: {
    running: "wayline_progress",
    ok: "wayline_ok",
    failed: "wayline_failed",
  },
  takeoff_to_point_progress: {
    running: "wayline_progress",
    ok: "task_finish",
    failed: "wayline_failed",
  },
};

/** The events the dock sends for `command` (empty when DJI reports no progress for it). */
export function progressEvents(
  command: { sn: string; method?: string; bid?: string; data: unknown },
  o: ProgressScriptOptions = {},
  now = systemClock.now(),
): Array<{ topic: string; body: Obj }> {
  const event = command.method ? findCommand(command.method)?.progress_event : undefined;
  if (!event) return [];
  const steps = Math.max(0, o.steps ?? 2);
  const data = isObj(command.data) ? command.data : {};
  const files = isObj(data["params"]) && Array.isArray(data["params"]["files"])
    ? (data["params"]["files"] as unknown[]).filter(isObj)
    : [];
  const out: Array<{ topic: string; body: Obj }> = [];
  for (let i = 0; i <= steps; i++) {
    const last = i === steps;
    const percent = last ? 100 : Math.round(((i + 1) * 100) / (steps + 1));
    const failed = last && o.failCode !== undefined;
    const result = failed ? o.failCode! : 0;
    let body: Obj;
    const flat = FLAT[event];
    if (flat) {
      body = {
        status: last ? (failed ? flat.failed : flat.ok) : flat.running,
        result,
        ...(data["fly_to_id"] ? { fly_to_id: data["fly_to_id"] } : {}),
        ...(data["flight_id"] ? { flight_id: data["flight_id"] } : {}),
      };
    } else {
      const status = last ? (failed ? "failed" : "ok") : "in_progress";
      const ext: Obj = {};
      if (data["flight_id"]) ext["flight_id"] = data["flight_id"];
      if (files.length > 0) {
        ext["files"] = files.map((f) => ({
          device_sn: command.sn,
          module: f["module"],
          key: f["object_key"],
          fingerprint: "simulated",
          size: 1024,
          progress: { progress: percent, current_step: 1, total_step: 1, status, result },
        }));
      }
      body = {
        result,
        output: {
          status,
          progress: { percent, step_key: last ? "done" : `step_${i + 1}` },
          ...(Object.keys(ext).length > 0 ? { ext } : {}),
        },
      };
    }
    out.push({
      topic: `thing/product/${command.sn}/events`,
      body: {
        tid: crypto.randomUUID(),
        bid: command.bid,
        timestamp: now + i,
        gateway: command.sn,
        need_reply: o.needReply ? 1 : 0,
        method: event,
        data: body,
      },
    });
  }
  return out;
}
