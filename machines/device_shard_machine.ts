// One device's shard, as pure data: knows the device's hosted commands, hands them to the bridge
// one at a time in acceptance order while the device's gateway is online and the job of their
// exclusivity class is not running, and routes the device's replies, delivery acks and deadlines
// to the right command. Each hosted command in flight is a child actor it spawns (id = command
// id): new on `command.dispatched`, from its persisted snapshot on `command.wake`; an idle one is
// stopped on `command.passivate` (its host keeps its snapshot), a finished one on
// `command.finished`. Which command takes an event is `toCommand`'s data: the host hands the
// event to that child (waking it first when passivated) and runs what it returns.
import { enqueueActions, setup, type Snapshot, spawnChild, stopChild } from "xstate";
import {
  commandActorLogic,
  type CommandChannel,
  type CommandEvent,
  type CommandInput,
  type CommandSpawnInput,
  type DeviceOffline,
  type HeldBy,
  type PersistedCommandSnapshot,
  type ReplyOutcome,
} from "./command_machine.ts";
import type { CommandStatus } from "../src/command/status.ts";

/** A command's exclusivity class, as the host reads it from the vendor's catalog: the dock runs
 * one job of the class at a time and refuses a second with a "busy" code. */
export interface Exclusivity {
  class: string;
  /** The job reports progress: the class is free at its terminal progress, not at its reply. */
  progress: boolean;
}

/** A hosted, not yet finished command, in acceptance order. */
export interface PendingCommand {
  id: string;
  method: string;
  channel: CommandChannel;
  /** Already handed to the bridge. */
  sent: boolean;
  deadline_at: number;
  exclusivity?: Exclusivity;
  /** It has waited behind its class's running job (reported once). */
  held?: boolean;
}

/** The command whose job of a class runs on the device: the class's next command waits for its
 * end (terminal progress; the reply when the job reports none; a failed reply; its deadline). */
export interface RunningJob {
  command_id: string;
  /** The command's absolute deadline: the class is free then, whatever the dock reported. */
  deadline_at: number;
  /** Whether its end is a terminal progress (else its reply). */
  progress: boolean;
}

/** Whether the device's gateway listens now, as the shard's device registry knows it. */
export interface GatewayPresence {
  online: boolean;
  /** Epoch ms of the latest message from the gateway; absent when it was never heard from. */
  last_seen_at?: number;
}

export interface DeviceShardContext {
  device_id: string;
  /** Commands go to the bridge only while the gateway is online: a publish to a dock that is
   * not listening would be PUBACKed by the broker (DELIVERED) and reach nobody. */
  gateway: GatewayPresence;
  pending: PendingCommand[];
  /** The command handed to the bridge whose delivery (or end) the next one waits for. */
  awaiting: string | null;
  /** By exclusivity class: the job running on the device. Kept apart from `pending`: a job
   * whose reply said it started (SUCCEEDED) runs on until its terminal progress. */
  running: Record<string, RunningJob>;
}

export interface DeviceReplyEvent {
  type: "device.reply";
  gateway: string;
  channel: CommandChannel;
  /** Absent on some DRC replies: they match the oldest pending command with the same method. */
  tid?: string;
  method?: string;
  received_at: number;
  outcome: ReplyOutcome;
}

export type DeviceShardEvent =
  | { type: "command.dispatched"; command: CommandInput; exclusivity?: Exclusivity }
  | { type: "bridge.delivered"; command_id: string; at: number }
  | DeviceReplyEvent
  /** The host's deadline schedule: the command's absolute deadline passed. */
  | { type: "deadline.reached"; command_id: string; at: number }
  /** The host: the command reached a state that needs nothing more from this shard (`status`,
   * when known, the state it ended in). */
  | { type: "command.finished"; command_id: string; status?: CommandStatus }
  /** The job event host: the command's job reported a terminal progress. */
  | { type: "job.finished"; command_id: string }
  /** The host's job schedule: the running job's command's deadline passed. */
  | { type: "job.deadline"; command_id: string; at: number }
  /** After a restore: resume handing commands to the bridge. */
  | { type: "commands.resume" }
  /** The host did not send the command: an earlier host had (before a restart, a redelivery, a
   * lease moving), so it may have reached the device. It waits for its reply or deadline, and
   * the device's next command may go. */
  | { type: "send.skipped"; command_id: string }
  /** The device registry: the gateway came online or went offline. */
  | ({ type: "gateway.presence" } & GatewayPresence)
  /** The host: an event is due for a hosted command kept only as its persisted snapshot (idle,
   * or restored): spawn its actor again from that snapshot. */
  | { type: "command.wake"; command_id: string; snapshot: PersistedCommandSnapshot }
  /** The host: the command has been idle past its threshold; its actor stops and the host keeps
   * its snapshot (a passivated command, as Orleans deactivates an idle grain). */
  | { type: "command.passivate"; command_id: string };

export const deviceShardMachine = setup({
  types: {} as {
    context: DeviceShardContext;
    events: DeviceShardEvent;
    input: { device_id: string; gateway: GatewayPresence };
  },
  actors: { command: commandActorLogic },
  actions: {
    /** Start hosting a new command: its deadline, its payload until it is handed over (its actor
     * is spawned beside this action). */
    startCommand: (_, _params: { command: CommandInput }) => {},
    /** Hand `event` to the command's actor (woken from its snapshot first when passivated). */
    toCommand: (_, _params: { command_id: string; event: CommandEvent }) => {},
    /** Publish the command's ToDevice message for the bridge. */
    sendToBridge: (_, _params: { command_id: string }) => {},
    /** A reply this shard hosts no command for: unknown tid, a finished command, or a command of
     * another device. The composition root looks it up (late reply, foreign gateway, unknown). */
    reportUnknownReply: (_, _params: { reply: DeviceReplyEvent }) => {},
    /** A command waits behind the running job of its class (once per command: a metric). */
    reportHeld: (_, _params: { command_id: string; held_by: HeldBy }) => {},
    /** Sends `job.deadline` for the running job at `at` (the host's job schedule). */
    watchJob: (_, _params: { command_id: string; at: number }) => {},
    /** The job is no longer running: its `job.deadline` is not needed. */
    unwatchJob: (_, _params: { command_id: string }) => {},
    /** Hands the oldest unsent command that may go to the bridge when nothing is awaiting
     * delivery.
     *
     * FIFO per device: the next command goes to the bridge only once the previous one is
     * DELIVERED (broker PUBACK) or finished. Messages of one device may be spread over bridge
     * processes and redeliveries, so only this gate guarantees they reach the broker (and so the
     * dock, MQTT keeping order per topic) in acceptance order. Waiting for the reply instead
     * would add a device round trip per command and let one silent dock command hold the
     * device's queue for up to its whole timeout.
     *
     * One job per class: a command whose exclusivity class has a job running waits (the dock
     * would refuse it with its busy code), and the commands after it that may go, classless or
     * of another class, go past it in acceptance order: the dock runs those beside the job. */
    sendNext: enqueueActions(({ context, enqueue }) => {
      let pending = context.pending;
      // Commands that wait behind their class's job, told once each.
      const anyRunning = Object.keys(context.running).length > 0;
      for (const p of anyRunning ? pending : []) {
        const held_by = !p.sent && !p.held ? heldBy(context, p) : undefined;
        if (!held_by) continue;
        pending = pending.map((q) => q === p ? { ...q, held: true } : q);
        enqueue({ type: "reportHeld", params: { command_id: p.id, held_by } } as never);
      }
      const next = context.awaiting !== null || !context.gateway.online
        ? undefined
        : pending.find((p) => !p.sent && (!anyRunning || heldBy(context, p) === undefined));
      if (!next) {
        if (pending !== context.pending) enqueue.assign({ pending });
        return;
      }
      enqueue.assign({
        awaiting: next.id,
        pending: pending.map((p) => p.id === next.id ? { ...p, sent: true } : p),
        ...(next.exclusivity
          ? {
            running: {
              ...context.running,
              [next.exclusivity.class]: {
                command_id: next.id,
                deadline_at: next.deadline_at,
                progress: next.exclusivity.progress,
              },
            },
          }
          : {}),
      });
      if (next.exclusivity) {
        enqueue(
          { type: "watchJob", params: { command_id: next.id, at: next.deadline_at } } as never,
        );
      }
      // A named action of this setup; enqueue's type only knows inline action functions.
      enqueue({ type: "sendToBridge", params: { command_id: next.id } } as never);
    }),
    /** The job of `command_id` ended (or no longer counts): its class is free. */
    endJob: enqueueActions(({ context, enqueue }, params: { command_id: string }) => {
      const running = withoutJob(context.running, params.command_id);
      if (running === context.running) return;
      enqueue.assign({ running });
      enqueue({ type: "unwatchJob", params } as never);
    }),
  },
  guards: {
    isHosted: ({ context, event }) => "command_id" in event && isHosted(context, event.command_id),
    /** The event's command runs the job of its class on the device. */
    runsJob: ({ context, event }) =>
      "command_id" in event && jobOf(context.running, event.command_id) !== undefined,
  },
}).createMachine({
  id: "device_shard",
  context: ({ input }) => ({
    device_id: input.device_id,
    gateway: { ...input.gateway },
    pending: [],
    awaiting: null,
    running: {},
  }),
  initial: "hosting",
  states: {
    hosting: {
      on: {
        "command.dispatched": {
          // Redelivered dispatch of a command hosted already: nothing to do.
          guard: ({ context, event }) => !isHosted(context, event.command.command_id),
          actions: [
            spawnChild("command", {
              id: ({ event }) => (event as { command: CommandInput }).command.command_id,
              input: ({ event }) =>
                (event as { command: CommandInput }).command satisfies CommandSpawnInput,
            }),
            { type: "startCommand", params: ({ event }) => ({ command: event.command }) },
            enqueueActions(({ context, event, enqueue }) => {
              const c = event.command;
              enqueue.assign({
                pending: [...context.pending, {
                  id: c.command_id,
                  method: c.command_type,
                  channel: c.channel,
                  sent: false,
                  deadline_at: c.deadline_at,
                  ...(event.exclusivity ? { exclusivity: event.exclusivity } : {}),
                }],
              });
            }),
            "sendNext",
          ],
        },
        "bridge.delivered": {
          guard: "isHosted",
          actions: [
            {
              type: "toCommand",
              params: ({ event }) => ({
                command_id: event.command_id,
                event: { type: "bridge.delivered", at: event.at },
              }),
            },
            enqueueActions(({ context, event, enqueue }) => {
              if (context.awaiting === event.command_id) enqueue.assign({ awaiting: null });
            }),
            "sendNext",
          ],
        },
        "device.reply": [
          {
            guard: ({ context, event }) => matchReply(context, event) !== undefined,
            actions: {
              type: "toCommand",
              params: ({ context, event }) => ({
                command_id: matchReply(context, event)!,
                event: {
                  type: "device.reply",
                  gateway: event.gateway,
                  channel: event.channel,
                  received_at: event.received_at,
                  outcome: event.outcome,
                },
              }),
            },
          },
          { actions: { type: "reportUnknownReply", params: ({ event }) => ({ reply: event }) } },
        ],
        "deadline.reached": {
          guard: "isHosted",
          actions: {
            type: "toCommand",
            params: ({ context, event }) => ({
              command_id: event.command_id,
              event: {
                type: "deadline.reached",
                at: event.at,
                ...neverSent(context, event.command_id),
              },
            }),
          },
        },
        "command.finished": {
          guard: "isHosted",
          actions: [
            stopChild(({ event }) => (event as { command_id: string }).command_id),
            enqueueActions(({ context, event, enqueue }) => {
              enqueue.assign({
                pending: context.pending.filter((p) => p.id !== event.command_id),
                awaiting: context.awaiting === event.command_id ? null : context.awaiting,
              });
              // Its job runs on only when the reply said it started and the job reports its
              // end; a failed, unmatched or timed-out command frees its class now.
              const job = jobOf(context.running, event.command_id);
              if (job && !(event.status === "SUCCEEDED" && job.progress)) {
                enqueue({ type: "endJob", params: { command_id: event.command_id } } as never);
              }
            }),
            "sendNext",
          ],
        },
        "job.finished": {
          guard: "runsJob",
          actions: [
            { type: "endJob", params: ({ event }) => ({ command_id: event.command_id }) },
            "sendNext",
          ],
        },
        "job.deadline": {
          guard: "runsJob",
          actions: [
            { type: "endJob", params: ({ event }) => ({ command_id: event.command_id }) },
            "sendNext",
          ],
        },
        "commands.resume": {
          actions: [
            // Restored jobs are watched again (the schedule is the host's memory).
            enqueueActions(({ context, enqueue }) => {
              for (const job of Object.values(context.running)) {
                enqueue({
                  type: "watchJob",
                  params: { command_id: job.command_id, at: job.deadline_at },
                } as never);
              }
            }),
            "sendNext",
          ],
        },
        "gateway.presence": {
          actions: [
            enqueueActions(({ event, enqueue }) => {
              enqueue.assign({
                gateway: {
                  online: event.online,
                  ...(event.last_seen_at !== undefined ? { last_seen_at: event.last_seen_at } : {}),
                },
              });
            }),
            "sendNext",
          ],
        },
        "command.wake": {
          guard: "isHosted",
          // Spawned only when not live already: a second spawn under its id would orphan it.
          actions: enqueueActions(({ event, self, enqueue }) => {
            if (self.getSnapshot().children[event.command_id]) return;
            enqueue.spawnChild("command", {
              id: event.command_id,
              input: { resume: event.snapshot } satisfies CommandSpawnInput as never,
            });
          }),
        },
        "command.passivate": {
          actions: stopChild(({ event }) => (event as { command_id: string }).command_id),
        },
        "send.skipped": {
          guard: "isHosted",
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              if (context.awaiting === event.command_id) enqueue.assign({ awaiting: null });
            }),
            "sendNext",
          ],
        },
      },
    },
  },
});

/** A command whose deadline came while it waited, unsent, for its offline gateway: it ends
 * DEVICE_OFFLINE (with when the gateway was last seen) rather than DEVICE_TIMEOUT; one that
 * waited for the job of its class says so in its failure_reason. */
function neverSent(
  context: DeviceShardContext,
  command_id: string,
): { device_offline?: DeviceOffline; held_by?: HeldBy } {
  const p = context.pending.find((c) => c.id === command_id);
  if (!p || p.sent) return {};
  if (!context.gateway.online) {
    const last = context.gateway.last_seen_at;
    return { device_offline: last === undefined ? {} : { last_seen_at: last } };
  }
  const held_by = heldBy(context, p);
  return held_by ? { held_by } : {};
}

/** The running job an unsent command waits behind, or undefined when its class is free. */
function heldBy(context: DeviceShardContext, p: PendingCommand): HeldBy | undefined {
  if (!p.exclusivity) return undefined;
  const job = context.running[p.exclusivity.class];
  return job ? { command_id: job.command_id, class: p.exclusivity.class } : undefined;
}

function jobOf(running: Record<string, RunningJob>, command_id: string): RunningJob | undefined {
  for (const job of Object.values(running)) if (job.command_id === command_id) return job;
  return undefined;
}

function withoutJob(
  running: Record<string, RunningJob>,
  command_id: string,
): Record<string, RunningJob> {
  const entry = Object.entries(running).find(([, job]) => job.command_id === command_id);
  if (!entry) return running;
  const { [entry[0]]: _, ...rest } = running;
  return rest;
}

function isHosted(context: DeviceShardContext, id: string): boolean {
  return context.pending.some((p) => p.id === id);
}

/** The hosted command a reply belongs to: by tid, or for a DRC reply without one, the oldest
 * pending DRC command with the same method. */
export function matchReply(
  context: DeviceShardContext,
  reply: Pick<DeviceReplyEvent, "tid" | "method" | "channel">,
): string | undefined {
  if (reply.tid) return isHosted(context, reply.tid) ? reply.tid : undefined;
  if (reply.channel !== "drc" || !reply.method) return undefined;
  return context.pending.find((p) => p.channel === "drc" && p.method === reply.method)?.id;
}

/** One command of a device to restore: its persisted command-machine snapshot. */
export interface RestoredCommand {
  snapshot: { value: unknown; context: CommandInput };
  /** Claimed for sending by an earlier host: never sent again. */
  sent?: boolean;
  exclusivity?: Exclusivity;
  /** Its job reported a terminal progress already: it holds no class. */
  job_finished?: boolean;
}

/** A job that runs on after its command finished (SUCCEEDED, no terminal progress yet, its
 * deadline not passed): it holds its class after a restore too. */
export interface RestoredJob {
  command_id: string;
  deadline_at: number;
  class: string;
}

/** Builds the persisted snapshot of a device shard hosting `commands` (in acceptance order),
 * with the jobs of finished commands that still run; the commands' own snapshots stay with the
 * host. Send `commands.resume` after start. */
export function restoredDeviceSnapshot(
  device_id: string,
  commands: readonly RestoredCommand[],
  gateway: GatewayPresence,
  jobs: readonly RestoredJob[] = [],
) {
  const pending: PendingCommand[] = [];
  const running: Record<string, RunningJob> = {};
  for (const j of jobs) {
    running[j.class] = { command_id: j.command_id, deadline_at: j.deadline_at, progress: true };
  }
  for (const c of commands) {
    const ctx = c.snapshot.context;
    // An ACCEPTED command that was never claimed for sending is sent now; one that was may
    // have reached the device, and is not sent again.
    const sent = c.sent === true || c.snapshot.value !== "ACCEPTED";
    pending.push({
      id: ctx.command_id,
      method: ctx.command_type,
      channel: ctx.channel,
      sent,
      deadline_at: ctx.deadline_at,
      ...(c.exclusivity ? { exclusivity: c.exclusivity } : {}),
    });
    // A command sent may be running its job on the dock.
    if (sent && c.exclusivity && !c.job_finished) {
      running[c.exclusivity.class] = {
        command_id: ctx.command_id,
        deadline_at: ctx.deadline_at,
        progress: c.exclusivity.progress,
      };
    }
  }
  return {
    status: "active",
    value: "hosting",
    context: {
      device_id,
      gateway: { ...gateway },
      pending,
      awaiting: null,
      running,
    } satisfies DeviceShardContext,
    children: {},
    historyValue: {},
    output: undefined,
    error: undefined,
  } as Snapshot<unknown>;
}

export type DeviceShardMachine = typeof deviceShardMachine;
