// The public lifecycle events of a command: their shape, their subjects, and how each is built
// from a command's facts. Never carries the payload: the facts hold none.
import { v5 } from "uuid";
import type { CommandContext } from "./command_facts.ts";
import { newEventId } from "./ids.ts";
import { rfc3339 } from "./timestamp.ts";
import type { CommandStatus } from "./status.ts";
import type { ProgressView } from "./progress.ts";

export const EVENT_KINDS = ["accepted", "delivered", "completed", "problem", "progress"] as const;
export type EventKind = typeof EVENT_KINDS[number];
/** Problems that belong to no tenant (a reply whose tid matches no command). */
export const UNOWNED_PROBLEM_SUBJECT = "downlink.command.problem";

export function eventSubject(tenantId: string, kind: EventKind): string {
  return `tenant.${tenantId}.command.${kind}`;
}

/** The subjects of every lifecycle event (the events stream takes these). */
export const EVENT_SUBJECTS = ["tenant.*.command.*", UNOWNED_PROBLEM_SUBJECT];

/** A public lifecycle event (`tenant.{tenant_id}.command.{kind}`). */
export interface LifecycleEvent {
  event_id: string;
  event_type: `command.${EventKind}`;
  command_id?: string;
  tenant_id?: string;
  client_id?: string;
  vendor?: string;
  device_id?: string;
  command_type?: string;
  status?: CommandStatus;
  occurred_at: string;
  problem?: string;
  detail?: string;
  response_code?: string;
  response_message?: string;
  vendor_response?: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
  accepted_at?: string;
  delivered_at?: string;
  completed_at?: string;
  response_received_at?: string;
  deadline_at?: string;
  /** command.progress: the job's progress as the Query Response shows it. */
  progress?: ProgressView;
}

/** The subject an event is published on: its tenant's, or the unowned problems'. */
export function subjectOf(event: LifecycleEvent): string {
  const kind = event.event_type.slice("command.".length) as EventKind;
  return event.tenant_id ? eventSubject(event.tenant_id, kind) : UNOWNED_PROBLEM_SUBJECT;
}

type CommandFacts =
  & Pick<
    CommandContext,
    "command_id" | "tenant_id" | "client_id" | "vendor" | "device_id" | "command_type"
  >
  & Partial<CommandContext>;

const at = (ms: number | undefined) => ms === undefined ? undefined : rfc3339(ms);

export function lifecycleEvent(
  kind: EventKind,
  c: CommandFacts,
  status: CommandStatus,
  now: number,
  problem?: { problem: string; detail: string },
): LifecycleEvent {
  const event: LifecycleEvent = {
    event_id: newEventId(),
    event_type: `command.${kind}`,
    command_id: c.command_id,
    tenant_id: c.tenant_id,
    client_id: c.client_id,
    vendor: c.vendor,
    device_id: c.device_id,
    command_type: c.command_type,
    status,
    occurred_at: rfc3339(now),
    ...problem,
    response_code: c.response_code,
    response_message: c.response_message,
    vendor_response: c.vendor_response,
    failure_code: c.failure_code,
    failure_reason: c.failure_reason,
    accepted_at: at(c.accepted_at),
    delivered_at: at(c.delivered_at),
    completed_at: at(c.completed_at),
    response_received_at: at(c.response_received_at),
    deadline_at: at(c.deadline_at),
  };
  // A field with no value is left out, as in the Query Response.
  for (const key of Object.keys(event) as Array<keyof LifecycleEvent>) {
    if (event[key] === undefined) delete event[key];
  }
  return event;
}

/** A problem with a reply no known command owns: published without a tenant (unowned subject). */
export function unownedProblem(
  now: number,
  problem: string,
  detail: string,
  fields: { device_id?: string; command_id?: string } = {},
): LifecycleEvent {
  return {
    event_id: newEventId(),
    event_type: "command.problem",
    occurred_at: rfc3339(now),
    problem,
    detail,
    ...fields,
  };
}

/** The accepted event's id is derived from the command id: whoever publishes it (the relay after
 * the commit, an outbox pass, a restore after a crash) publishes the same message. */
export function acceptedEventId(commandId: string): string {
  return v5("command.accepted", commandId);
}

/** A command's `command.accepted` event, from its row as accepted. */
export function acceptedEvent(
  c:
    & Pick<
      CommandContext,
      "command_id" | "tenant_id" | "client_id" | "vendor" | "device_id" | "command_type"
    >
    & { accepted_at: Date; deadline_at: Date },
): LifecycleEvent {
  const accepted_at = c.accepted_at.getTime();
  const facts: CommandFacts = {
    command_id: c.command_id,
    tenant_id: c.tenant_id,
    client_id: c.client_id,
    vendor: c.vendor,
    device_id: c.device_id,
    command_type: c.command_type,
    accepted_at,
    deadline_at: c.deadline_at.getTime(),
  };
  return {
    ...lifecycleEvent("accepted", facts, "ACCEPTED", accepted_at),
    event_id: acceptedEventId(c.command_id),
  };
}

/** An event as it is stored and published: its body is sent exactly as kept. */
export interface StoredEvent {
  event_id: string;
  command_id?: string;
  subject: string;
  body: string;
}

export function storedEvent(event: LifecycleEvent): StoredEvent {
  return {
    event_id: event.event_id,
    ...(event.command_id ? { command_id: event.command_id } : {}),
    subject: subjectOf(event),
    body: JSON.stringify(event),
  };
}
