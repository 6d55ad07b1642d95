// How the CLI shows a command's lifecycle to a person: one line per step of a command's state
// (and of its job's progress), one line per lifecycle event, one line per command in a list.
import type { CommandState } from "../client/command_client.ts";
import type { LifecycleEvent } from "../command/lifecycle_event.ts";
import type { ProgressView } from "../command/progress.ts";

export interface Step {
  /** ACCEPTED, DELIVERED or the terminal status; PROGRESS or FINISHED for the job. */
  name: string;
  at: string;
  detail: string;
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "UNMATCHED_RESPONSE"]);

/** What the device answered or why the command failed, as `key=value` pairs. */
export function outcome(c: Partial<CommandState> | Partial<LifecycleEvent>): string {
  const parts: string[] = [];
  if (c.response_code !== undefined) parts.push(`response_code=${c.response_code}`);
  if (c.response_message) parts.push(`response_message=${JSON.stringify(c.response_message)}`);
  if (c.failure_code) parts.push(`failure_code=${c.failure_code}`);
  if (c.failure_reason) parts.push(`failure_reason=${JSON.stringify(c.failure_reason)}`);
  return parts.join(" ");
}

/** The steps a state shows so far, oldest first, each with the time it happened. A reply that
 * overtook the broker's acknowledgement leaves no DELIVERED step. */
export function stepsOf(state: CommandState): Step[] {
  const steps: Step[] = [{ name: "ACCEPTED", at: state.accepted_at, detail: "" }];
  if (state.delivered_at) steps.push({ name: "DELIVERED", at: state.delivered_at, detail: "" });
  if (TERMINAL.has(state.status)) {
    steps.push({
      name: state.status,
      at: state.completed_at ?? state.updated_at,
      detail: outcome(state),
    });
  }
  return steps;
}

/** `DELIVERED   2026-…Z  +0.012 s  detail`: the time since the command was accepted. */
export function stepLine(step: Step, acceptedAt: string): string {
  const since = (Date.parse(step.at) - Date.parse(acceptedAt)) / 1000;
  return [
    step.name.padEnd(18),
    step.at,
    `+${since.toFixed(3)} s`.padStart(11),
    step.detail,
  ].join("  ").trimEnd();
}

/** A job's progress as words: `progress=in_progress 40% step=open_cover`, `finished` when asked,
 * and why it failed. */
function progressText(p: ProgressView, withFinished: boolean): string {
  const parts = [`progress=${p.status}`];
  if (p.percent !== undefined) parts.push(`${Math.round(p.percent)}%`);
  if (p.step !== undefined) parts.push(`step=${p.step}`);
  if (withFinished && p.finished_at) parts.push("finished");
  if (p.failure_reason) parts.push(`reason=${JSON.stringify(p.failure_reason)}`);
  return parts.join(" ");
}

/** A command.progress event's job state: `progress=in_progress 40% step=open_cover`. */
function progressPart(e: LifecycleEvent): string {
  return e.progress ? progressText(e.progress, true) : "";
}

/** The job's latest progress as a step, once its dock reported some: PROGRESS (at its update)
 * while it runs, FINISHED (at finished_at) once the dock reported the job's end. */
export function progressStepOf(state: CommandState): Step | undefined {
  const p = state.progress;
  if (!p) return undefined;
  return p.finished_at
    ? { name: "FINISHED", at: p.finished_at, detail: progressText(p, false) }
    : { name: "PROGRESS", at: p.updated_at, detail: progressText(p, false) };
}

/** One readable line per lifecycle event. */
export function eventLine(e: LifecycleEvent): string {
  const parts = [
    e.occurred_at,
    e.event_type.padEnd(17),
    (e.status ?? "").padEnd(18),
    e.tenant_id ? `tenant=${e.tenant_id}` : "",
    e.device_id ? `device=${e.device_id}` : "",
    e.command_type ? `type=${e.command_type}` : "",
    e.command_id ? `command=${e.command_id}` : "",
    outcome(e),
    progressPart(e),
    e.problem ? `problem=${e.problem}` : "",
    e.detail ? `detail=${JSON.stringify(e.detail)}` : "",
  ];
  return parts.filter((p) => p.trim() !== "").join("  ");
}

/** One line per command in a list: when, id, device, type, status and outcome. */
export function commandLine(c: CommandState): string {
  return [c.accepted_at, c.command_id, c.device_id, c.command_type, c.status, outcome(c)]
    .filter((p) => p !== "").join("  ");
}
