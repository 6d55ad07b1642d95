// Passivation of the shard's actors (as Orleans deactivates an idle grain): a command actor that
// took no event for `afterMs` is stopped by its device and the command kept as its persisted
// snapshot; a device actor none of whose commands is live, idle as long, is stopped too. One timer
// for the whole host, armed while any actor is live: it looks at every live device once per round.
import type { Clock } from "../async/time.ts";
import type { DeviceInbox } from "./device_inbox.ts";
import type { HostedCommand } from "./hosted_command.ts";

export interface Passivation {
  /** An actor was spawned or woken: look for idle ones later. */
  arm(): void;
  /** Stops the command actors that took no event since the previous call, then the device
   * actors with no live command that took none either; how many it stopped and how many stay. */
  passivateIdle(): { stopped: number; live: number; devicesLive: number };
  stop(): void;
}

export function createPassivation(o: {
  clock: Clock;
  /** Idle this long (ms), an actor is passivated; 0: never. */
  afterMs: number;
  inbox: Pick<DeviceInbox, "devices" | "deliver" | "passivate">;
  commands: ReadonlyMap<string, HostedCommand>;
}): Passivation {
  let timer: unknown = undefined;

  function passivateIdle() {
    let stopped = 0;
    let live = 0;
    let devicesLive = 0;
    for (const d of o.inbox.devices.values()) {
      if (!d.actor) continue;
      let children = 0;
      for (const command_id in d.snapshot.children) {
        const c = o.commands.get(command_id);
        if (c?.stepped) {
          c.stepped = false;
          live++;
          children++;
          continue;
        }
        o.inbox.deliver(d, { event: { type: "command.passivate", command_id } });
        stopped++;
      }
      // A device whose commands are all passivated, idle itself since the previous look, is kept
      // as its persisted snapshot too (it stepped just now if it passivated any).
      if (children === 0 && !d.stepped) o.inbox.passivate(d);
      else {
        d.stepped = false;
        devicesLive++;
      }
    }
    return { stopped, live, devicesLive };
  }

  function arm() {
    if (timer !== undefined || o.afterMs <= 0) return;
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      const { live, devicesLive } = passivateIdle();
      if (live > 0 || devicesLive > 0) arm();
    }, o.afterMs);
  }

  return {
    arm,
    passivateIdle,
    stop() {
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
