// The lifecycle of one command, as pure data: ACCEPTED → DELIVERED → terminal, or TIMED_OUT at
// the absolute deadline. Effects (persisting, reporting problems) are named actions the host runs
// from what a step returns. The machine arms no timer: its host keeps the deadline schedule and
// sends `deadline.reached`. A command in flight is a child actor of its device shard
// (`commandActorLogic`), spawned new or from its persisted snapshot.
import { type ActorScope, assign, setup } from "xstate";
import type { CommandChannel } from "../src/command/channel.ts";
import type { CommandStatus } from "../src/command/status.ts";
import type { CommandContext, CommandInput } from "../src/command/command_facts.ts";
import type { ReplyOutcome } from "../src/command/reply_outcome.ts";
import { rfc3339 } from "../src/command/timestamp.ts";

export type { CommandChannel, CommandContext, CommandInput, ReplyOutcome };

/** The context fields transitions fill in: the ones a command's input does not set. */
export const RESULT_FIELDS = [
  "delivered_at",
  "response_received_at",
  "completed_at",
  "response_code",
  "response_message",
  "vendor_response",
  "failure_code",
  "failure_reason",
] as const satisfies ReadonlyArray<Exclude<keyof CommandContext, keyof CommandInput>>;

export type CommandEvent =
  /** The broker acknowledged the publish to the device (QoS 1 PUBACK). */
  | { type: "bridge.delivered"; at: number }
  /** A reply carrying this command's tid; `gateway` is the device that sent it, `channel` the
   * one it came on (services_reply: services, drc/up: drc). */
  | {
    type: "device.reply";
    gateway: string;
    channel: CommandChannel;
    received_at: number;
    outcome: ReplyOutcome;
  }
  /** The absolute deadline passed: sent by the host's deadline schedule, `at` = `deadline_at`.
   * `device_offline` when the command was never sent because its gateway was not online;
   * `held_by` when it was never sent because another command's job of its exclusivity class
   * still ran on the dock. */
  | { type: "deadline.reached"; at: number; device_offline?: DeviceOffline; held_by?: HeldBy };

/** Why a command was never sent: its gateway was offline, last heard from at `last_seen_at`
 * (epoch ms), or never heard from at all. */
export interface DeviceOffline {
  last_seen_at?: number;
}

/** Why a command was never sent although its gateway was online: the dock runs one job of its
 * exclusivity class at a time, and command `command_id`'s job of class `class` still ran. */
export interface HeldBy {
  command_id: string;
  class: string;
}

/** What a persisted transition reports: the lifecycle event it publishes after the commit. */
export type TransitionKind = "delivered" | "completed" | "late_reply";

export const TIMED_OUT_FAILURE = {
  failure_code: "DEVICE_TIMEOUT",
  failure_reason: "no reply from the device before the deadline",
} as const;

/** The failure of a command whose deadline passed while its gateway was offline. */
export function deviceOfflineFailure(o: DeviceOffline) {
  return {
    failure_code: "DEVICE_OFFLINE",
    failure_reason: o.last_seen_at === undefined
      ? "the device was not online before the deadline: it has never been seen"
      : `the device was not online before the deadline: last seen ${rfc3339(o.last_seen_at)}`,
  } as const;
}

/** The failure of a command whose deadline passed while it waited, unsent, for the job of its
 * exclusivity class to end: it never reached its dock, as a command timed out unanswered. */
export function heldByClassFailure(h: HeldBy) {
  return {
    failure_code: TIMED_OUT_FAILURE.failure_code,
    failure_reason: `never sent: held behind command ${h.command_id} of class ${h.class} ` +
      "(the dock runs one such job at a time) until the deadline",
  } as const;
}

export const commandMachine = setup({
  types: {} as {
    context: CommandContext;
    events: CommandEvent;
    input: CommandInput;
  },
  actions: {
    /** Persist the command row + snapshot, then publish the event of `kind` (after the commit). */
    record: (_, _params: { kind: TransitionKind }) => {},
    /** A reply that must change nothing (wrong channel): count, log, publish. A reply from
     * another gateway never reaches a command: its device shard takes only its own gateway's
     * replies, and the host checks a late reply's gateway against the row. */
    reportProblem: (_, _params: { problem: string; detail: string }) => {},
    /** Tells the host that this command needs nothing more from its device shard (no delivery,
     * no deadline): it stops hosting it. */
    notifyFinished: () => {},
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
    finishOffline: assign(({ context, event }) =>
      event.type === "deadline.reached" && event.device_offline
        ? { completed_at: event.at, ...deviceOfflineFailure(event.device_offline) }
        : { completed_at: context.deadline_at, ...TIMED_OUT_FAILURE }
    ),
    finishHeld: assign(({ context, event }) =>
      event.type === "deadline.reached" && event.held_by
        ? { completed_at: event.at, ...heldByClassFailure(event.held_by) }
        : { completed_at: context.deadline_at, ...TIMED_OUT_FAILURE }
    ),
  },
  guards: {
    onOtherChannel: ({ context, event }) =>
      event.type === "device.reply" && event.channel !== context.channel,
    neverSentOffline: ({ event }) =>
      event.type === "deadline.reached" && event.device_offline !== undefined,
    neverSentHeld: ({ event }) => event.type === "deadline.reached" && event.held_by !== undefined,
    outcomeIs: ({ event }, status: ReplyOutcome["status"]) =>
      event.type === "device.reply" && event.outcome.status === status,
  },
}).createMachine({
  id: "command",
  context: ({ input }) => ({ ...input }),
  initial: "ACCEPTED",
  states: {
    ACCEPTED: {
      on: {
        "bridge.delivered": {
          target: "DELIVERED",
          actions: ["markDelivered", { type: "record", params: { kind: "delivered" } }],
        },
        "device.reply": replyTransitions(),
        "deadline.reached": [
          {
            guard: "neverSentOffline",
            target: "TIMED_OUT",
            actions: ["finishOffline", { type: "record", params: { kind: "completed" } }],
          },
          {
            guard: "neverSentHeld",
            target: "TIMED_OUT",
            actions: ["finishHeld", { type: "record", params: { kind: "completed" } }],
          },
          timeoutTransition(),
        ],
      },
    },
    DELIVERED: {
      on: {
        "device.reply": replyTransitions(),
        "deadline.reached": timeoutTransition(),
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
          wrongChannelTransition(),
          {
            actions: ["keepReply", { type: "record", params: { kind: "late_reply" } }],
          },
        ],
      },
    },
  },
});

/** A reply answers a command only on the command's own channel: one with this command's tid
 * on the other (a services command answered on drc/up) is no answer to it, and the command
 * keeps waiting for the one that is. */
function wrongChannelTransition() {
  return {
    guard: "onOtherChannel" as const,
    actions: {
      type: "reportProblem" as const,
      params: ({ context, event }: { context: CommandContext; event: CommandEvent }) => ({
        problem: "REPLY_WRONG_CHANNEL",
        detail: `reply on the ${
          event.type === "device.reply" ? event.channel : "?"
        } channel for a command of the ${context.channel} channel; ignored`,
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
  return [
    wrongChannelTransition(),
    to("SUCCEEDED"),
    to("FAILED"),
    to("UNMATCHED_RESPONSE"),
  ];
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

/** What a device shard spawns a command actor from: a new command's input, or the persisted
 * snapshot of a command made live again (passivated while idle, or restored after a restart). */
export type CommandSpawnInput = CommandInput | { resume: PersistedCommandSnapshot };

/** A command machine (this one, or it with actions provided) as its device shard spawns it.
 * xstate's `spawnChild` takes an input but no snapshot (only `createActor` does), so this logic,
 * the machine in every other respect, starts a child from `{ resume }` by restoring that snapshot:
 * no entry action runs, as in any restore. A child's persisted form names it `command`, the key
 * its parent's `setup` gives it, so a device shard restored from its own persisted snapshot
 * restores its children with it. */
export function spawnableCommand(machine: CommandMachine): CommandMachine {
  return Object.create(machine, {
    getInitialSnapshot: {
      value(scope: ActorScope<never, never>, input: CommandSpawnInput) {
        return "resume" in input
          ? machine.restoreSnapshot(input.resume as never, scope as never)
          : machine.getInitialSnapshot(scope as never, input);
      },
    },
  });
}

/** The command actor a device shard spawns. */
export const commandActorLogic: CommandMachine = spawnableCommand(commandMachine);

/** A command machine snapshot in its persisted form: what the host keeps while the command
 * waits, what Postgres stores, and what `createActor(commandMachine, { snapshot })` restores. */
export interface PersistedCommandSnapshot {
  status: "active" | "done";
  value: CommandStatus;
  context: CommandContext;
  children: Record<string, never>;
  historyValue: Record<string, never>;
  output: undefined;
  error: undefined;
}

/** The persisted snapshot of a command at rest in `status` (ACCEPTED or DELIVERED), built from
 * its row without starting an actor: the snapshot a started machine would persist (the ACCEPTED
 * row the API committed is its first record). */
export function restingSnapshot(
  status: "ACCEPTED" | "DELIVERED",
  context: CommandContext,
): PersistedCommandSnapshot {
  return {
    status: "active",
    value: status,
    context,
    children: {},
    historyValue: {},
    output: undefined,
    error: undefined,
  };
}

/** A snapshot as Postgres stores it: the machine's state without its context, since every field
 * of the context is a column of the same row (stored once, the row is smaller and its WAL too). */
export type StoredCommandSnapshot = Omit<PersistedCommandSnapshot, "context">;

export function storedSnapshot(snapshot: PersistedCommandSnapshot): StoredCommandSnapshot {
  const { context: _, ...state } = snapshot;
  return state;
}

/** A stored snapshot with its context rebuilt from the row (a context stored by an earlier
 * version, written from the same values, is replaced). */
export function withContext(
  stored: StoredCommandSnapshot,
  context: CommandContext,
): PersistedCommandSnapshot {
  return { ...stored, context };
}

/** The lifecycle status a command machine snapshot stands for. */
export function statusOf(snapshot: { value: unknown }): CommandStatus {
  return snapshot.value as CommandStatus;
}

export type CommandMachine = typeof commandMachine;
