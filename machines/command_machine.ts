// The lifecycle of one command, as pure data: ACCEPTED → DELIVERED → terminal, or TIMED_OUT at
// the absolute deadline. Effects (persisting, reporting problems) are named actions provided later.
import { assign, enqueueActions, raise, setup } from "xstate";
import type { CommandStatus } from "../src/bus/messages.ts";

export type CommandChannel = "services" | "drc";

/** What a vendor adapter made of a device reply (the shape of DJI's mapReply output). */
export interface ReplyOutcome {
  status: "SUCCEEDED" | "FAILED" | "UNMATCHED_RESPONSE";
  response_code?: string;
  response_message?: string;
  vendor_response: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
}

/** The command as the machine starts it; times are epoch milliseconds. */
export interface CommandInput {
  command_id: string;
  tenant_id: string;
  client_id: string;
  vendor: string;
  device_id: string;
  command_type: string;
  channel: CommandChannel;
  accepted_at: number;
  deadline_at: number;
}

export interface CommandContext extends CommandInput {
  delivered_at?: number;
  response_received_at?: number;
  completed_at?: number;
  response_code?: string;
  response_message?: string;
  vendor_response?: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
}

export type CommandEvent =
  /** The broker acknowledged the publish to the device (QoS 1 PUBACK). */
  | { type: "bridge.delivered"; at: number }
  /** A reply carrying this command's tid; `gateway` is the device that sent it. */
  | { type: "device.reply"; gateway: string; received_at: number; outcome: ReplyOutcome }
  /** The absolute deadline passed (raised by the deadline timer, or sent by a sweeper). */
  | { type: "deadline.reached"; at: number }
  /** Re-arms the deadline timer after a restore (xstate does not, statelyai/xstate#5331). */
  | { type: "deadline.rearm" };

/** What a persisted transition reports: the lifecycle event it publishes after the commit. */
export type TransitionKind = "hosted" | "delivered" | "completed" | "late_reply";

export const TIMED_OUT_FAILURE = {
  failure_code: "DEVICE_TIMEOUT",
  failure_reason: "no reply from the device before the deadline",
} as const;

/** The machine reads the clock only through this delay; the composition root provides one bound
 * to the injected Clock (tests: SimulatedClock) with `withDeadlineClock`. */
const untilDeadline = ({ context }: { context: CommandContext }) =>
  Math.max(0, context.deadline_at - Date.now());

export const commandMachine = setup({
  types: {} as {
    context: CommandContext;
    events: CommandEvent;
    input: CommandInput;
  },
  actions: {
    /** Persist the command row + snapshot, then publish the event of `kind` (after the commit). */
    record: (_, _params: { kind: TransitionKind }) => {},
    /** A reply that must change nothing (foreign gateway, finished command): count, log, publish. */
    reportProblem: (_, _params: { problem: string; detail: string }) => {},
    /** Tells the hosting device shard that this command needs nothing more from it. A command
     * restored outside a shard (a late reply to a TIMED_OUT row) has no parent to tell. */
    notifyFinished: enqueueActions(({ context, self, enqueue }) => {
      if (self._parent) {
        enqueue.sendParent({ type: "command.finished", command_id: context.command_id });
      }
    }),
    markDelivered: assign({
      delivered_at: ({ event }) => event.type === "bridge.delivered" ? event.at : undefined,
    }),
    keepReply: assign(({ event }) => {
      if (event.type !== "device.reply") return {};
      const o = event.outcome;
      return {
        response_received_at: event.received_at,
        response_code: o.response_code,
        response_message: o.response_message,
        vendor_response: o.vendor_response,
      };
    }),
    finishWithReply: assign(({ event }) => {
      if (event.type !== "device.reply") return {};
      return {
        completed_at: event.received_at,
        failure_code: event.outcome.failure_code,
        failure_reason: event.outcome.failure_reason,
      };
    }),
    finishTimedOut: assign(({ context, event }) => ({
      completed_at: event.type === "deadline.reached" ? event.at : context.deadline_at,
      ...TIMED_OUT_FAILURE,
    })),
  },
  guards: {
    fromOtherGateway: ({ context, event }) =>
      event.type === "device.reply" && event.gateway !== context.device_id,
    outcomeIs: ({ event }, status: ReplyOutcome["status"]) =>
      event.type === "device.reply" && event.outcome.status === status,
  },
  delays: { untilDeadline },
}).createMachine({
  id: "command",
  context: ({ input }) => ({ ...input }),
  initial: "ACCEPTED",
  // Runs once when a shard starts hosting the command, never when a snapshot is restored.
  entry: { type: "record", params: { kind: "hosted" } },
  states: {
    ACCEPTED: {
      after: { untilDeadline: { actions: raise(({ context }) => deadlineEvent(context)) } },
      on: {
        "bridge.delivered": {
          target: "DELIVERED",
          actions: ["markDelivered", { type: "record", params: { kind: "delivered" } }],
        },
        "device.reply": replyTransitions(),
        "deadline.reached": timeoutTransition(),
        "deadline.rearm": { target: "ACCEPTED", reenter: true },
      },
    },
    DELIVERED: {
      after: { untilDeadline: { actions: raise(({ context }) => deadlineEvent(context)) } },
      on: {
        "device.reply": replyTransitions(),
        "deadline.reached": timeoutTransition(),
        "deadline.rearm": { target: "DELIVERED", reenter: true },
      },
    },
    SUCCEEDED: { type: "final", entry: "notifyFinished" },
    FAILED: { type: "final", entry: "notifyFinished" },
    UNMATCHED_RESPONSE: { type: "final", entry: "notifyFinished" },
    // Not final: a reply after the deadline is still kept (response fields, an event), while the
    // status stays TIMED_OUT.
    TIMED_OUT: {
      entry: "notifyFinished",
      on: {
        "device.reply": [
          foreignGatewayTransition(),
          {
            actions: ["keepReply", { type: "record", params: { kind: "late_reply" } }],
          },
        ],
      },
    },
  },
});

function deadlineEvent(context: CommandContext): CommandEvent {
  return { type: "deadline.reached", at: context.deadline_at };
}

function foreignGatewayTransition() {
  return {
    guard: "fromOtherGateway" as const,
    actions: {
      type: "reportProblem" as const,
      params: ({ context, event }: { context: CommandContext; event: CommandEvent }) => ({
        problem: "FOREIGN_GATEWAY_REPLY",
        detail: `reply from gateway ${
          event.type === "device.reply" ? event.gateway : "?"
        } for a command of device ${context.device_id}`,
      }),
    },
  };
}

function replyTransitions() {
  const to = (status: ReplyOutcome["status"]) => ({
    guard: { type: "outcomeIs" as const, params: status },
    target: status,
    actions: [
      "keepReply" as const,
      "finishWithReply" as const,
      { type: "record" as const, params: { kind: "completed" as const } },
    ],
  });
  return [foreignGatewayTransition(), to("SUCCEEDED"), to("FAILED"), to("UNMATCHED_RESPONSE")];
}

function timeoutTransition() {
  return {
    target: "TIMED_OUT" as const,
    actions: [
      "finishTimedOut" as const,
      { type: "record" as const, params: { kind: "completed" as const } },
    ],
  };
}

/** The command machine with its deadline delay bound to `now` (the injected Clock). */
export function withDeadlineClock(machine: typeof commandMachine, now: () => number) {
  return machine.provide({
    delays: {
      untilDeadline: ({ context }) => Math.max(0, context.deadline_at - now()),
    },
  });
}

/** The lifecycle status a command machine snapshot stands for. */
export function statusOf(snapshot: { value: unknown }): CommandStatus {
  return snapshot.value as CommandStatus;
}

export type CommandMachine = typeof commandMachine;
