// Restore: a partition's in-flight commands read back from Postgres and hosted again, each
// device shard rebuilt from its commands' rows and the jobs still running on it.
import {
  restingSnapshot,
  type StoredCommandSnapshot,
  withContext,
} from "../../machines/command_machine.ts";
import {
  type Exclusivity,
  type GatewayPresence,
  restoredDeviceSnapshot,
  type RestoredJob,
} from "../../machines/device_shard_machine.ts";
import type { LifecycleStore } from "../store/lifecycle_store.ts";
import type { Clock } from "../async/time.ts";
import type { DeviceInbox } from "./device_inbox.ts";
import type { DispatchIntake } from "./dispatch_intake.ts";
import { contextOf, HostedCommand } from "./hosted_command.ts";

export interface RestoreOptions {
  store: Pick<LifecycleStore, "loadInFlight" | "loadUnfinishedJobs">;
  clock: Clock;
  inbox: DeviceInbox;
  intake: DispatchIntake;
  commands: Map<string, HostedCommand>;
  deadlines: { set(command_id: string, at: number): void };
  intern: (s: string) => string;
  presenceOf(device_id: string): GatewayPresence;
  exclusivity?: {
    /** The class of a command of `vendor` of type `method`, if any. */
    of(vendor: string, method: string): Exclusivity | undefined;
    lastingMethods: readonly string[];
  };
}

/** Restores every in-flight command of a partition (before its consumer starts);
 * `beforeStart` runs once they are read and before any of them is driven. Returns how many. */
export async function restorePartition(
  o: RestoreOptions,
  partition: number,
  beforeStart?: () => Promise<unknown>,
): Promise<number> {
  const rows = await o.store.loadInFlight([partition]);
  // The jobs not known to have ended: the in-flight commands' (sent, a job may run) and the
  // SUCCEEDED commands' whose end has not been reported (their job runs on).
  const unfinished = o.exclusivity
    ? await o.store.loadUnfinishedJobs(
      partition,
      o.exclusivity.lastingMethods,
      o.clock.now(),
    )
    : [];
  await beforeStart?.();
  const unfinishedIds = new Set(unfinished.map((j) => j.command_id));
  const jobsByDevice = new Map<string, RestoredJob[]>();
  for (const j of unfinished) {
    const kind = j.status === "SUCCEEDED" ? o.exclusivity?.of(j.vendor, j.command_type) : undefined;
    if (!kind) continue;
    let list = jobsByDevice.get(j.device_id);
    if (!list) jobsByDevice.set(j.device_id, list = []);
    list.push({ command_id: j.command_id, deadline_at: j.deadline_at, class: kind.class });
  }
  // O(n): one pass over the rows keeps each command's snapshot and deadline; one device
  // actor per device; no command actor and no per-command timer.
  const byDevice = new Map<string, HostedCommand[]>();
  const unsent: string[] = [];
  const claimed = new Set<string>();
  for (const r of rows) {
    if (r.sent) claimed.add(r.command_id);
    const stored = r.snapshot as StoredCommandSnapshot | undefined;
    const context = contextOf(r, o.intern);
    const snapshot = stored
      ? withContext(stored, context)
      // A command accepted but never moved has no snapshot yet: start it from its row.
      : restingSnapshot(r.status === "DELIVERED" ? "DELIVERED" : "ACCEPTED", context);
    const accepted = snapshot.value === "ACCEPTED" && r.payload_enc !== undefined;
    const c = new HostedCommand(
      r.command_id,
      snapshot,
      accepted ? r.bid : undefined,
      accepted ? r.payload_enc : undefined,
    );
    o.commands.set(c.id, c);
    if (accepted) unsent.push(c.id);
    // The original absolute deadline: a command overdue already times out at once.
    o.deadlines.set(c.id, snapshot.context.deadline_at);
    let list = byDevice.get(r.device_id);
    if (!list) byDevice.set(r.device_id, list = []);
    list.push(c);
  }
  o.intake.restored(unsent);
  for (const device_id of new Set([...byDevice.keys(), ...jobsByDevice.keys()])) {
    const list = byDevice.get(device_id) ?? [];
    const device = o.inbox.create(
      device_id,
      partition,
      restoredDeviceSnapshot(
        device_id,
        list.map((c) => {
          const exclusivity = o.exclusivity?.of(
            c.snapshot.context.vendor,
            c.snapshot.context.command_type,
          );
          return {
            snapshot: c.snapshot,
            sent: claimed.has(c.id),
            ...(exclusivity
              ? {
                exclusivity,
                // A job that reports progress ended when it said so (the restore found no
                // unfinished job of the command); one that does not, at its reply.
                job_finished: exclusivity.progress && !unfinishedIds.has(c.id),
              }
              : {}),
          };
        }),
        o.presenceOf(device_id),
        jobsByDevice.get(device_id) ?? [],
      ),
    );
    o.inbox.deliver(device, { event: { type: "commands.resume" } });
  }
  return rows.length;
}
