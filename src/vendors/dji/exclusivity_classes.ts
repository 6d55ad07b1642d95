// Catalog data: which commands a dock runs one at a time (issue 14 item 4), each class with the
// DJI result codes a dock answers a second job of the class with while one runs (the evidence,
// texts from DJI's table, result_codes_data.ts). The device shard holds a command of a class in
// ACCEPTED while a job of its class runs on its dock (machines/device_shard_machine.ts); the dock
// simulator's --busy-code plays a dock that refuses by these classes.
import { findCommand } from "./catalog.ts";
import type { ExclusivityClass } from "../vendor_adapter.ts";

export type { ExclusivityClass };

export const EXCLUSIVITY_CLASSES: readonly ExclusivityClass[] = [
  {
    // 514116 "Unable to perform operation. Dock is executing other command. Try again later":
    // the remote-debug jobs of PROTOCOL §4.0 (remote-debug (job)), each reporting progress.
    name: "remote_debug",
    methods: [
      "cover_open",
      "cover_close",
      "cover_force_close",
      "drone_open",
      "drone_close",
      "device_reboot",
      "device_format",
      "drone_format",
      "charge_open",
      "charge_close",
      "putter_open",
      "putter_close",
      "esim_activate",
      "esim_operator_switch",
    ],
    busy_codes: [514116],
  },
  {
    // 319016 "Dock performing other task", 321257 "Task in progress. Failed to start task
    // again", 319001 "Dock is performing task or uploading issue logs", 325005-325008 (unable to
    // respond, task preparation, performing task, processing task output).
    name: "flight_task",
    methods: ["flighttask_execute", "takeoff_to_point"],
    busy_codes: [319001, 319016, 321257, 325005, 325006, 325007, 325008],
  },
  {
    // 312014 "Updating device firmware. Wait until update completed", 312015 "Dock busy".
    name: "firmware",
    methods: ["ota_create"],
    busy_codes: [312014, 312015],
  },
  {
    // 325009 "Dock is exporting logs to cloud. Try again later" (319018/319019 are what a task
    // gets meanwhile: "Dock uploading/obtaining issue logs").
    name: "log_upload",
    methods: ["fileupload_start"],
    busy_codes: [325009],
  },
  {
    // 325010 "Dock is updating custom flight area. Try again later".
    name: "flight_area_sync",
    methods: ["flight_areas_update"],
    busy_codes: [325010],
  },
  {
    // 325011 "Dock is updating offline map. Try again later".
    name: "offline_map_sync",
    methods: ["offline_map_update"],
    busy_codes: [325011],
  },
];

/** The class of `method`, or undefined for a command a dock runs beside any other. */
export function exclusivityClassOf(method: string): ExclusivityClass | undefined {
  return EXCLUSIVITY_CLASSES.find((c) => c.methods.includes(method));
}

/** A command's class as the device shard takes it: the class's name, and whether its job
 * reports progress (then the class is free at the job's terminal progress, else at its reply). */
export function exclusivityOf(method: string): { class: string; progress: boolean } | undefined {
  const kind = exclusivityClassOf(method);
  if (!kind) return undefined;
  return { class: kind.name, progress: findCommand(method)?.progress_event !== undefined };
}

/** The methods whose job may run on after its command finished: a class's methods that report
 * progress (a restore looks for their jobs still running). */
export const LASTING_JOB_METHODS: readonly string[] = EXCLUSIVITY_CLASSES
  .flatMap((c) => c.methods)
  .filter((m) => findCommand(m)?.progress_event !== undefined);
