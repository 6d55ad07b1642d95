// The DJI command catalog: every method Downlink accepts, the MQTT channel it travels on,
// its payload fields with their documented limits, and which of them are secret. The data
// itself is generated (catalog_data.ts by tools/gen_dji_catalog.ts).
import { DJI_COMMANDS } from "./catalog_data.ts";
import type { CommandChannel } from "../../command/channel.ts";
import type { CatalogEntry, CatalogField, FieldType } from "../vendor_adapter.ts";

export type { CatalogEntry, CatalogField, FieldType };

export type { CommandChannel };

// Frozen because every caller shares these objects: a stray write would change the catalog
// for the whole process.
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const COMMANDS: readonly CatalogEntry[] = deepFreeze(DJI_COMMANDS);

// A Map, not an object: a lookup of "__proto__" or "constructor" must find nothing.
const BY_METHOD: ReadonlyMap<string, CatalogEntry> = new Map(
  COMMANDS.map((entry) => [entry.method, entry]),
);

export function findCommand(method: string): CatalogEntry | undefined {
  return BY_METHOD.get(method);
}

/** Every command, sorted by method. */
export function listCommands(): readonly CatalogEntry[] {
  return COMMANDS;
}
