// The shard's inbox: the device shards hosted here, each a live actor with a child actor per
// command in flight, and how one takes an event. The actions its step returns are run in order by
// the host's runner; events an action gives the same device meanwhile wait in its inbox, as in an
// actor's mailbox.
import { type Actor, type AnyActorRef, createActor, type InspectionEvent } from "xstate";
import type { CommandEvent, CommandInput, HeldBy } from "../../machines/command_machine.ts";
import {
  type DeviceReplyEvent,
  type DeviceShardContext,
  type DeviceShardEvent,
  type deviceShardMachine,
  type GatewayPresence,
} from "../../machines/device_shard_machine.ts";
import type { ReplyFact } from "../bus/messages.ts";
import type { Clock } from "../async/time.ts";
import type { ActorStepper, HostedMachines } from "./actor_step.ts";

type DeviceActor = Actor<typeof deviceShardMachine>;

/** A device shard hosted here: its live actor (the root of its own actor system, its commands'
 * actors its children), or while it is passivated, its persisted snapshot; and the host's
 * stepper, which returns what each step ran. */
export class HostedDevice {
  /** While it takes an event: the events that came meanwhile, taken next in order. */
  inbox: Delivery[] | undefined = undefined;
  /** Its persisted snapshot while it has no live actor (no command actor is live then). */
  rest: DeviceRest | undefined = undefined;
  /** It took an event since the host last looked for idle actors. */
  stepped = true;
  constructor(
    readonly id: string,
    readonly partition: number,
    public actor: DeviceActor | undefined,
    readonly stepper: ActorStepper,
  ) {}
  /** Its state, live or at rest. */
  get snapshot(): DeviceRest {
    return this.actor ? this.actor.getSnapshot() : this.rest!;
  }
  /** The live actor of a hosted command; undefined while it is passivated (only its snapshot). */
  commandActor(command_id: string): AnyActorRef | undefined {
    return this.actor?.getSnapshot().children[command_id] as AnyActorRef | undefined;
  }
}

/** What the host reads of a device shard, live or passivated. */
export interface DeviceRest {
  context: DeviceShardContext;
  children: Record<string, unknown>;
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
  /** Stops a device shard's actor and its commands' actors, and forgets it. */
  remove(d: HostedDevice): void;
  /** Stops the actor of a device shard none of whose commands is live, keeping its persisted
   * snapshot; its next event spawns it again from that snapshot. */
  passivate(d: HostedDevice): void;
}

export function createDeviceInbox(o: {
  machines: HostedMachines;
  clock: Clock;
  inspect?: (event: InspectionEvent) => void;
  presenceOf(device_id: string): GatewayPresence;
  /** A passivated device shard's actor was started again (the host passivates it once idle). */
  awake(): void;
  /** Runs one returned action; a promise is work the event's acknowledgement waits for. */
  run(d: HostedDevice, action: DeviceAction, taken: Delivery): Promise<unknown> | undefined;
}): DeviceInbox {
  const devices = new Map<string, HostedDevice>();
  // The machines with their named effects reporting to the stepper, one pair per host.
  const { stepper, device: machine } = o.machines;

  function deliver(d: HostedDevice, delivery: Delivery): Promise<unknown>[] | undefined {
    if (d.inbox) {
      d.inbox.push(delivery);
      return undefined;
    }
    const inbox = d.inbox = [delivery];
    let holds: Promise<unknown>[] | undefined;
    d.stepped = true;
    if (!d.actor) {
      d.actor = spawn(d.id, d.rest);
      d.rest = undefined;
      o.awake();
    }
    const actor = d.actor;
    try {
      for (let i = 0; i < inbox.length; i++) {
        const taken = inbox[i];
        const [, actions] = d.stepper.step(actor, taken.event);
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

  /** A device shard's actor, new or from a persisted snapshot (restored, or passivated). */
  function spawn(device_id: string, restored?: unknown): DeviceActor {
    // Restored: the snapshot holds what the input would give (and any live commands' children).
    const actor = createActor(
      machine,
      {
        id: device_id,
        clock: o.clock,
        ...(o.inspect ? { inspect: o.inspect } : {}),
        ...(restored
          ? { snapshot: restored }
          : { input: { device_id, gateway: o.presenceOf(device_id) } }),
      } as Parameters<typeof createActor<typeof machine>>[1],
    );
    actor.start();
    return actor;
  }

  return {
    devices,
    deliver,
    deliverTo(device_id, event) {
      const d = devices.get(device_id);
      if (d) deliver(d, { event });
    },
    create(device_id, partition, restored) {
      const d = new HostedDevice(device_id, partition, spawn(device_id, restored), stepper);
      devices.set(device_id, d);
      return d;
    },
    remove(d) {
      d.actor?.stop();
      devices.delete(d.id);
    },
    passivate(d) {
      if (!d.actor || d.inbox) return;
      d.rest = d.actor.getPersistedSnapshot() as unknown as DeviceRest;
      d.actor.stop();
      d.actor = undefined;
    },
  };
}
