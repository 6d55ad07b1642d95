// The running jobs' deadlines: a job may outlive its command (SUCCEEDED, its end reported later
// on events), and holds its exclusivity class on the dock until it ends or its command's deadline
// comes. One schedule for them all, by command id, with the device each runs on.
import type { Clock } from "../async/time.ts";
import type { Logger } from "../runtime/log.ts";
import { createDeadlineSchedule } from "./deadline_schedule.ts";

export interface JobDeadlines {
  watch(command_id: string, device_id: string, at: number): void;
  unwatch(command_id: string): void;
  clear(): void;
}

export function createJobDeadlines(o: {
  clock: Clock;
  log: Logger;
  /** The job of `command_id` reached its deadline, its end never reported: its class is free. */
  onDue(device_id: string, command_id: string, at: number): void;
}): JobDeadlines {
  const devices = new Map<string, string>();
  const schedule = createDeadlineSchedule<string>({
    clock: o.clock,
    onDue: (command_id, at) => {
      const device_id = devices.get(command_id);
      devices.delete(command_id);
      if (device_id === undefined) return;
      o.log.info("a job's class is free at its command's deadline, its end never reported", {
        command_id,
        device_id,
      });
      try {
        o.onDue(device_id, command_id, at);
      } catch (err) {
        o.log.error("job deadline handling failed", { err, command_id });
      }
    },
  });
  return {
    watch(command_id, device_id, at) {
      devices.set(command_id, device_id);
      schedule.set(command_id, at);
    },
    unwatch(command_id) {
      devices.delete(command_id);
      schedule.delete(command_id);
    },
    clear() {
      schedule.clear();
      devices.clear();
    },
  };
}
