// One device's shard, as pure data: knows the device's hosted commands, hands them to the bridge
// one at a time in acceptance order while the device's gateway is online, and routes the
// device's replies, delivery acks and deadlines to the right command. It spawns no command actors: the host keeps each command's persisted
// snapshot and has it take one event at a time through the command machine (`toCommand`).
import { enqueueActions, setup, type Snapshot } from "xstate";
import type {
  CommandChannel,
  CommandEvent,
  CommandInput,
  DeviceOffline,
  ReplyOutcome,
} from "./command_machine.ts";

/** A hosted, not yet finished command, in acceptance order. */
export interface PendingCommand {
  id: string;
  method: string;
  channel: CommandChannel;
  /** Already handed to the bridge. */
  sent: boolean;
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
  | { type: "command.dispatched"; command: CommandInput }
  | { type: "bridge.delivered"; command_id: string; at: number }
  | DeviceReplyEvent
  /** The host's deadline schedule: the command's absolute deadline passed. */
  | { type: "deadline.reached"; command_id: string; at: number }
  /** The host: the command reached a state that needs nothing more from this shard. */
  | { type: "command.finished"; command_id: string }
  /** After a restore: resume handing commands to the bridge. */
  | { type: "commands.resume" }
  /** The host did not send the command: an earlier host had (before a restart, a redelivery, a
   * lease moving), so it may have reached the device. It waits for its reply or deadline, and
   * the device's next command may go. */
  | { type: "send.skipped"; command_id: string }
  /** The device registry: the gateway came online or went offline. */
  | ({ type: "gateway.presence" } & GatewayPresence);

export const deviceShardMachine = setup({
  types: {} as {
    context: DeviceShardContext;
    events: DeviceShardEvent;
    input: { device_id: string; gateway: GatewayPresence };
  },
  actions: {
    /** Start hosting a new command (its command machine in its initial state). */
    startCommand: (_, _params: { command: CommandInput }) => {},
    /** Hand `event` to the command (the host steps its machine from its persisted snapshot). */
    toCommand: (_, _params: { command_id: string; event: CommandEvent }) => {},
    /** Publish the command's ToDevice message for the bridge. */
    sendToBridge: (_, _params: { command_id: string }) => {},
    /** A reply this shard hosts no command for: unknown tid, a finished command, or a command of
     * another device. The composition root looks it up (late reply, foreign gateway, unknown). */
    reportUnknownReply: (_, _params: { reply: DeviceReplyEvent }) => {},
    /** Hands the oldest unsent command to the bridge when nothing is awaiting delivery.
     *
     * FIFO per device: the next command goes to the bridge only once the previous one is
     * DELIVERED (broker PUBACK) or finished. Messages of one device may be spread over bridge
     * processes and redeliveries, so only this gate guarantees they reach the broker (and so the
     * dock, MQTT keeping order per topic) in acceptance order. Waiting for the reply instead
     * would add a device round trip per command and let one silent dock command hold the
     * device's queue for up to its whole timeout. */
    sendNext: enqueueActions(({ context, enqueue }) => {
      if (context.awaiting !== null || !context.gateway.online) return;
      const next = context.pending.find((p) => !p.sent);
      if (!next) return;
      enqueue.assign({
        awaiting: next.id,
        pending: context.pending.map((p) => p === next ? { ...p, sent: true } : p),
      });
      // A named action of this setup; enqueue's type only knows inline action functions.
      enqueue({ type: "sendToBridge", params: { command_id: next.id } } as never);
    }),
  },
  guards: {
    isHosted: ({ context, event }) => "command_id" in event && isHosted(context, event.command_id),
  },
}).createMachine({
  id: "device_shard",
  context: ({ input }) => ({
    device_id: input.device_id,
    gateway: { ...input.gateway },
    pending: [],
    awaiting: null,
  }),
  initial: "hosting",
  states: {
    hosting: {
      on: {
        "command.dispatched": {
          // Redelivered dispatch of a command hosted already: nothing to do.
          guard: ({ context, event }) => !isHosted(context, event.command.command_id),
          actions: [
            { type: "startCommand", params: ({ event }) => ({ command: event.command }) },
            enqueueActions(({ context, event, enqueue }) => {
              const c = event.command;
              enqueue.assign({
                pending: [...context.pending, {
                  id: c.command_id,
                  method: c.command_type,
                  channel: c.channel,
                  sent: false,
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
                ...neverSentOffline(context, event.command_id),
              },
            }),
          },
        },
        "command.finished": {
          guard: "isHosted",
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              enqueue.assign({
                pending: context.pending.filter((p) => p.id !== event.command_id),
                awaiting: context.awaiting === event.command_id ? null : context.awaiting,
              });
            }),
            "sendNext",
          ],
        },
        "commands.resume": { actions: "sendNext" },
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
 * DEVICE_OFFLINE (with when the gateway was last seen) rather than DEVICE_TIMEOUT. */
function neverSentOffline(
  context: DeviceShardContext,
  command_id: string,
): { device_offline?: DeviceOffline } {
  const p = context.pending.find((c) => c.id === command_id);
  if (!p || p.sent || context.gateway.online) return {};
  const last = context.gateway.last_seen_at;
  return { device_offline: last === undefined ? {} : { last_seen_at: last } };
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
}

/** Builds the persisted snapshot of a device shard hosting `commands` (in acceptance order);
 * the commands' own snapshots stay with the host. Send `commands.resume` after start. */
export function restoredDeviceSnapshot(
  device_id: string,
  commands: readonly RestoredCommand[],
  gateway: GatewayPresence,
) {
  const pending: PendingCommand[] = [];
  for (const c of commands) {
    const ctx = c.snapshot.context;
    pending.push({
      id: ctx.command_id,
      method: ctx.command_type,
      channel: ctx.channel,
      // An ACCEPTED command that was never claimed for sending is sent now; one that was may
      // have reached the device, and is not sent again.
      sent: c.sent === true || c.snapshot.value !== "ACCEPTED",
    });
  }
  return {
    status: "active",
    value: "hosting",
    context: {
      device_id,
      gateway: { ...gateway },
      pending,
      awaiting: null,
    } satisfies DeviceShardContext,
    children: {},
    historyValue: {},
    output: undefined,
    error: undefined,
  } as Snapshot<unknown>;
}

export type DeviceShardMachine = typeof deviceShardMachine;
