// Builds the public lifecycle event of a command from the command machine's context.
// Never carries the payload: the context holds none.
import type { CommandStatus, LifecycleEvent } from "../bus/messages.ts";
import type { EventKind } from "../bus/subjects.ts";
import type { CommandContext } from "../../machines/command_machine.ts";
import { newEventId } from "../ids.ts";
import { rfc3339 } from "../time.ts";

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
