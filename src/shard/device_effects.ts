// The effects a device shard's step returns, run here by type and params: hosting a command,
// handing an event to its actor (woken from its snapshot when passivated), sending it to the
// bridge, triaging a reply it hosts no command for, watching the job of its class.
import { type CommandEvent, restingSnapshot, statusOf } from "../../machines/command_machine.ts";
import type { DeviceReplyEvent } from "../../machines/device_shard_machine.ts";
import type { ReplyFact } from "../bus/messages.ts";
import type { Logger } from "../runtime/log.ts";
import type { BridgeSender } from "./bridge_sender.ts";
import type { Delivery, DeviceAction, DeviceInbox, HostedDevice } from "./device_inbox.ts";
import { type CommandTaker, HostedCommand } from "./hosted_command.ts";

export interface DeviceEffectsOptions {
  log: Logger;
  count(name: string): void;
  inbox: DeviceInbox;
  commands: Map<string, HostedCommand>;
  deadlines: { set(command_id: string, at: number): void };
  toCommand: CommandTaker;
  /** A command actor was spawned or woken (the host passivates it once idle). */
  awake(): void;
  /** Stops hosting a finished command. */
  forget(command_id: string): void;
  sender: Pick<BridgeSender, "send">;
  unknownReply(event: DeviceReplyEvent, fact: ReplyFact | undefined): Promise<void>;
  /** The running jobs' deadlines. */
  jobs: {
    watch(command_id: string, device_id: string, at: number): void;
    unwatch(command_id: string): void;
  };
}

/** Runs one action a device shard's step returned; a promise is work the event's
 * acknowledgement waits for. */
export function createDeviceEffects(
  o: DeviceEffectsOptions,
): (d: HostedDevice, action: DeviceAction, taken: Delivery) => Promise<void> | undefined {
  function runDeviceAction(
    d: HostedDevice,
    action: DeviceAction,
    taken: Delivery,
  ): Promise<void> | undefined {
    switch (action.type) {
      case "startCommand": {
        const { command } = action.params;
        const c = new HostedCommand(
          command.command_id,
          restingSnapshot("ACCEPTED", command),
          taken.sendable?.bid,
          taken.sendable?.payload_enc,
        );
        o.commands.set(c.id, c);
        o.deadlines.set(c.id, command.deadline_at);
        o.awake();
        return;
      }
      case "toCommand":
        commandTakes(d, action.params.command_id, action.params.event);
        return;
      case "sendToBridge":
        sendToBridge(action.params.command_id);
        return;
      case "reportUnknownReply":
        return o.unknownReply(action.params.reply, taken.reply);
      case "reportHeld": {
        const { command_id, held_by } = action.params;
        o.count("commands_held_by_class");
        o.log.debug("command held behind its class's running job", {
          command_id,
          device_id: d.id,
          class: held_by.class,
          held_by: held_by.command_id,
        });
        return;
      }
      case "watchJob":
        o.jobs.watch(action.params.command_id, d.id, action.params.at);
        return;
      case "unwatchJob":
        o.jobs.unwatch(action.params.command_id);
        return;
    }
  }

  function commandTakes(d: HostedDevice, command_id: string, event: CommandEvent): void {
    const c = o.commands.get(command_id);
    if (!c) {
      o.log.error("no snapshot for a hosted command", { command_id });
      return;
    }
    let actor = d.commandActor(command_id);
    if (!actor) {
      // Passivated (idle, or restored after a restart): its device spawns it from its snapshot.
      // The device is between steps (this runs the actions its step returned), so it takes the
      // wake at once; spawning returns no action of ours.
      d.stepper.step(d.actor!, { type: "command.wake", command_id, snapshot: c.snapshot });
      actor = d.commandActor(command_id);
      if (!actor) {
        o.log.error("a hosted command's actor could not be woken", { command_id });
        return;
      }
      o.awake();
    }
    if (!o.toCommand(c, event, { stepper: d.stepper, actor })) return;
    // Never published: its gateway was not online before the deadline.
    if (event.type === "deadline.reached" && event.device_offline) {
      o.count("commands_device_offline");
    }
    // Never published: the job of its class ran on its dock until its deadline.
    if (event.type === "deadline.reached" && event.held_by) {
      o.count("commands_held_timed_out");
      o.log.warn("a command held behind its class's running job reached its deadline", {
        command_id,
        device_id: d.id,
        class: event.held_by.class,
        held_by: event.held_by.command_id,
      });
    }
    o.forget(command_id);
    // Taken by the device right after the event it is taking.
    o.inbox.deliver(d, {
      event: { type: "command.finished", command_id, status: statusOf(c.snapshot) },
    });
  }

  function sendToBridge(command_id: string): void {
    const c = o.commands.get(command_id);
    if (!c?.bid || !c.payload_enc) {
      o.log.error("no payload to send for command", { command_id });
      return;
    }
    const ctx = c.snapshot.context;
    const partition = o.inbox.devices.get(ctx.device_id)!.partition;
    const command = {
      command_id,
      vendor: ctx.vendor,
      device_id: ctx.device_id,
      method: ctx.command_type,
      channel: ctx.channel,
      bid: c.bid,
      deadline_at: ctx.deadline_at,
      payload_enc: c.payload_enc,
    };
    // The payload is kept only until it is handed over.
    c.bid = undefined;
    c.payload_enc = undefined;
    o.sender.send(command, partition);
  }

  return runDeviceAction;
}
