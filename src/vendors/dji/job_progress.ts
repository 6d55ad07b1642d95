// How a DJI `events` message reports a job's progress and how it names the job: the keys that
// link it to the command that started it (PROTOCOL §2.3, §3.5, §4.0b, §4.1), and its status,
// percent, step, result and detail. Pure; never throws on odd input (device bytes are untrusted).
import type { DeviceEventMessage } from "./device_event_message.ts";
import { findCommand } from "./catalog.ts";
import { bidKey } from "../../command/progress.ts";
import type { ProgressLink, ProgressReading } from "../vendor_adapter.ts";

export type { ProgressLink, ProgressReading };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) =>
  typeof v === "string" && v.length > 0 && v.length <= 1024 ? v : undefined;
const num = (v: unknown) => {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
};

/** Key prefixes, so a flight id can never match an object key that happens to be equal. */
const flightKey = (id: string) => `flight:${id}`;
const flyToKey = (id: string) => `flyto:${id}`;
const fileKey = (key: string) => `file:${key}`;

const MAX_FILES = 16;

/** How `commandType`'s progress is linked to it: from its catalog entry and its payload. */
export function progressLink(commandType: string, payload: unknown): ProgressLink | undefined {
  const event = findCommand(commandType)?.progress_event;
  if (!event) return undefined;
  const keys: string[] = [];
  const p = isObj(payload) ? payload : {};
  // DJI's server uses flight_id as the bid of flighttask_prepare/execute, and the dock's
  // flighttask_progress and flighttask_ready carry it (§4.1).
  const flight = str(p["flight_id"]);
  if (flight) keys.push(flightKey(flight));
  const flyTo = str(p["fly_to_id"]);
  if (flyTo) keys.push(flyToKey(flyTo));
  // fileupload_start: each file's object_key, which fileupload_progress names per file (§3.5);
  // docks are not documented to reuse the command's bid.
  const files = isObj(p["params"]) ? p["params"]["files"] : undefined;
  if (Array.isArray(files)) {
    for (const f of files.slice(0, MAX_FILES)) {
      const key = isObj(f) ? str(f["object_key"]) : undefined;
      if (key) keys.push(fileKey(key));
    }
  }
  return { event, keys: [...new Set(keys)] };
}

/** The keys an event may name its job by: its bid (as Downlink's bid, and as a flight id), the
 * flight ids and fly-to id it carries, each uploaded file's key. */
export function eventLinkKeys(event: DeviceEventMessage): string[] {
  const keys: string[] = [];
  if (event.bid) keys.push(bidKey(event.bid), flightKey(event.bid));
  const data = isObj(event.data) ? event.data : {};
  const output = isObj(data["output"]) ? data["output"] : {};
  const ext = isObj(output["ext"]) ? output["ext"] : {};
  for (const id of [ext["flight_id"], data["flight_id"]]) {
    const flight = str(id);
    if (flight) keys.push(flightKey(flight));
  }
  if (Array.isArray(data["flight_ids"])) {
    for (const id of data["flight_ids"].slice(0, MAX_FILES)) {
      const flight = str(id);
      if (flight) keys.push(flightKey(flight));
    }
  }
  const flyTo = str(data["fly_to_id"]);
  if (flyTo) keys.push(flyToKey(flyTo));
  if (Array.isArray(ext["files"])) {
    for (const f of ext["files"].slice(0, MAX_FILES)) {
      const key = isObj(f) ? str(f["key"]) : undefined;
      if (key) keys.push(fileKey(key));
    }
  }
  return [...new Set(keys)];
}

const clampPercent = (n: number | undefined) =>
  n === undefined ? undefined : Math.max(0, Math.min(100, n));

/** One uploaded file's percent: DEMO's ((current_step - 1) * 100 + progress) / total_step when
 * the dock says how many steps there are, else the step's own progress (§3.5). */
function filePercent(progress: Obj): number | undefined {
  const within = num(progress["progress"]) ?? num(progress["percent"]);
  const step = num(progress["current_step"]);
  const total = num(progress["total_step"]);
  if (within !== undefined && step !== undefined && total !== undefined && total > 0) {
    return clampPercent(((step - 1) * 100 + within) / total);
  }
  return clampPercent(within);
}

function fileDetail(f: Obj): Obj {
  const progress = isObj(f["progress"]) ? f["progress"] : {};
  const out: Obj = {};
  for (const k of ["module", "key", "size", "fingerprint", "device_sn"]) {
    if (f[k] !== undefined && f[k] !== null) out[k] = f[k];
  }
  const percent = filePercent(progress);
  if (percent !== undefined) out["percent"] = percent;
  for (const k of ["status", "result", "current_step", "total_step", "finish_time"]) {
    if (progress[k] !== undefined && progress[k] !== null) out[k] = progress[k];
  }
  return out;
}

const stepOf = (progress: Obj) => {
  const step = progress["step_key"] ?? progress["current_step"];
  return typeof step === "number" ? String(step) : str(step);
};

/** What `event` says of its job. Two shapes exist: `data{result, output{status, progress,
 * ext}}` (jobs, uploads, flight tasks) and flat `data{status, result, ...}` (fly-to, take-off
 * to point, flight-area sync). An event with no status is `failed` when its result is not 0,
 * else `reported` (flighttask_ready, return_home_info name no status). */
export function readProgress(event: DeviceEventMessage): ProgressReading {
  const data = isObj(event.data) ? event.data : {};
  const result = num(data["result"]);
  const reading: ProgressReading = { status: "reported" };
  if (result !== undefined) reading.result = result;
  if (isObj(data["output"])) {
    const output = data["output"];
    const progress = isObj(output["progress"]) ? output["progress"] : {};
    const ext = isObj(output["ext"]) ? output["ext"] : undefined;
    const status = str(output["status"]);
    if (status) reading.status = status;
    const percent = clampPercent(num(progress["percent"]));
    if (percent !== undefined) reading.percent = percent;
    const step = stepOf(progress);
    if (step !== undefined) reading.step = step;
    if (ext && Array.isArray(ext["files"])) {
      const files = ext["files"].filter(isObj).slice(0, MAX_FILES).map(fileDetail);
      reading.detail = { files };
      const percents = files.map((f) => f["percent"]).filter((p) => typeof p === "number");
      if (reading.percent === undefined && percents.length > 0) {
        reading.percent = (percents as number[]).reduce((a, b) => a + b, 0) / percents.length;
      }
    } else if (ext) {
      reading.detail = ext;
    }
  } else {
    const status = str(data["status"]);
    if (status) reading.status = status;
    const percent = clampPercent(num(data["percent"]) ?? num(data["progress"]));
    if (percent !== undefined) reading.percent = percent;
    const rest: Obj = {};
    for (const [k, v] of Object.entries(data)) {
      if (k !== "status" && k !== "result") rest[k] = v;
    }
    if (Object.keys(rest).length > 0) reading.detail = rest;
  }
  if (reading.status === "reported" && result !== undefined && result !== 0) {
    reading.status = "failed";
  }
  return reading;
}
