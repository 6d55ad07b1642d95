// Which way a command travels to its device. The vendor's catalog assigns each command one; the
// machines, the bus messages and the outbox rows carry it.

/** DJI's two: `services` → thing/product/{sn}/services; `drc` → thing/product/{sn}/drc/down. */
export type CommandChannel = "services" | "drc";
