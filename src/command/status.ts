// A command's lifecycle status, as the seed's Query Response names it, and which statuses end it.
// Every layer shares these (machines, store, http, shard), so they live apart from all of them.

export type CommandStatus =
  | "ACCEPTED"
  | "DELIVERED"
  | "SUCCEEDED"
  | "FAILED"
  | "TIMED_OUT"
  | "UNMATCHED_RESPONSE";

export const TERMINAL_STATUSES: ReadonlySet<CommandStatus> = new Set([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "UNMATCHED_RESPONSE",
]);
