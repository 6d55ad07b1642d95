// The DJI command catalog: every method Downlink accepts, the MQTT channel it travels on,
// its payload fields with their documented limits, and which of them are secret. The data
// itself is generated (catalog_data.ts by tools/gen_dji_catalog.ts).
import { DJI_COMMANDS } from "./catalog_data.ts";
import type { CommandChannel } from "../../command/channel.ts";

export type { CommandChannel };

/** DJI thing-model types (`double` is folded into `float`: both are JSON numbers). */
export type FieldType =
  | "text"
  | "int"
  | "float"
  | "bool"
  | "enum_int"
  | "enum_string"
  | "struct"
  | "array";

export interface CatalogField {
  /** Dotted path inside the payload; `[]` marks array items, e.g. `params.files[].list[].boot_index`. */
  readonly path: string;
  readonly type: FieldType;
  /** Item type of an `array` field, when DJI documents one. */
  readonly items?: FieldType;
  /** Documented enum keys: the only values accepted (an enum_int key as a number or its digits). */
  readonly enum?: readonly string[];
  /** The reference platform's pages mark it required (top-level fields only). */
  readonly required?: true;
  /** Documented range of an `int` or `float`, bounds included. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** Documented maximum length of a `text`. */
  readonly max_length?: number;
  /** Documented item counts of an `array`. */
  readonly min_items?: number;
  readonly max_items?: number;
}

export interface CatalogEntry {
  readonly method: string;
  /** Reference-platform grouping: device, camera, drc, wayline, psdk, safety, live, file, firmware. */
  readonly module: string;
  readonly channel: CommandChannel;
  readonly summary: string;
  readonly fields: readonly CatalogField[];
  /** Dotted paths whose values must never be stored or logged in plain text. */
  readonly secret_fields: readonly string[];
  /** The `events` method that reports this command's progress, when there is one. */
  readonly progress_event?: string;
  /** dock1, dock2, dock3, rc, rc_pro. */
  readonly devices: readonly string[];
}

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
