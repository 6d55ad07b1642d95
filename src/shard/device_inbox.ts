// The shard's inbox: the device shards hosted here, each its machine's snapshot between events,
// and how one takes an event. The actions a step returns are run in order by the host's runner;
// events an action gives the same device meanwhile wait in its inbox, as in an actor's mailbox.
import type { InspectionEvent } from "xstate";
import type { CommandEvent, CommandInput, HeldBy } from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  type DeviceShardEvent,
  deviceShardMachine,
  type GatewayPresence,
} from "../../machines/device_shard_machine.ts";
import type { ReplyFact } from "../bus/messages.ts";
import type { Clock } from "../time.ts";
import { createMachineStep } from "./machine_step.ts";

type DeviceSnapshot = ReturnType<typeof deviceShardMachine.transition>;

/** A device shard at rest: its machine's snapshot, between events. */
export interface HostedDevice {
  id: string;
  snapshot: DeviceSnapshot;
  partition: number;
  /** While it takes an event: the events that came meanwhile, taken next in order. */
  inbox: Delivery[] | undefined;
}

/** An event for a device shard and what its actions need from the host's side: the payload a
 * dispatched command carries to the bridge, the reply as the vendor sent it. */
export interface Delivery {
  event: DeviceShardEvent;
  sendable?: { bid: string; payload_enc: Uint8Array };
  reply?: ReplyFact;
}

/** The device shard machine's named actions, as a step returns them. */
export type DeviceAction =
  | { type: "startCommand"; params: { command: CommandInput } }
  | { type: "toCommand"; params: { command_id: string; event: CommandEvent } }
  | { type: "sendToBridge"; params: { command_id: string } }
  | { type: "reportUnknownReply"; params: { reply: DeviceReplyEvent } }
  | { type: "reportHeld"; params: { command_id: string; held_by: HeldBy } }
  | { type: "watchJob"; params: { command_id: string; at: number } }
  | { type: "unwatchJob"; params: { command_id: string } };

export interface DeviceInbox {
  devices: Map<string, HostedDevice>;
  /** Has the device shard take `delivery`, then the events its own actions gave it meanwhile.
   * Returns what the actions started that the event's acknowledgement waits for (lookups of
   * replies it hosts no command for), if any. */
  deliver(d: HostedDevice, delivery: Delivery): Promise<unknown>[] | undefined;
  /** An event for the device's shard, if it is hosted here. */
  deliverTo(device_id: string, event: DeviceShardEvent): void;
  /** A device shard, new (asking its gateway's presence) or restored from a persisted snapshot. */
  create(device_id: string, partition: number, restored?: unknown): HostedDevice;
}

export function createDeviceInbox(o: {
  clock: Clock;
  inspect?: (event: InspectionEvent) => void;
  presenceOf(device_id: string): GatewayPresence;
  /** Runs one returned action; a promise is work the event's acknowledgement waits for. */
  run(d: HostedDevice, action: DeviceAction, taken: Delivery): Promise<unknown> | undefined;
}): DeviceInbox {
  const devices = new Map<string, HostedDevice>();
  const deviceStep = createMachineStep(deviceShardMachine, {
    clock: o.clock,
    inspect: o.inspect,
  });

  function deliver(d: HostedDevice, delivery: Delivery): Promise<unknown>[] | undefined {
    if (d.inbox) {
      d.inbox.push(delivery);
      return undefined;
    }
    const inbox = d.inbox = [delivery];
    let holds: Promise<unknown>[] | undefined;
    try {
      for (let i = 0; i < inbox.length; i++) {
        const taken = inbox[i];
        const [next, actions] = deviceStep.step(d.id, d.snapshot, taken.event);
        d.snapshot = next;
        for (const action of actions) {
          const hold = o.run(d, action as DeviceAction, taken);
          if (hold) (holds ??= []).push(hold);
        }
      }
    } finally {
      d.inbox = undefined;
    }
    return holds;
  }

  return {
    devices,
    deliver,
    deliverTo(device_id, event) {
      const d = devices.get(device_id);
      if (d) deliver(d, { event });
    },
    create(device_id, partition, restored) {
      const d: HostedDevice = {
        id: device_id,
        snapshot: restored
          ? deviceStep.restore(restored)
          : deviceStep.initial({ device_id, gateway: o.presenceOf(device_id) }),
        partition,
        inbox: undefined,
      };
      devices.set(device_id, d);
      return d;
    },
  };
}
