// The vendors a Downlink serves, by name: built once in the composition root from a list of
// adapters (a second vendor is one more entry), looked up by the `vendor` of a command or of the
// device message that names one.
import type { VendorAdapter } from "./vendor_adapter.ts";
import { filtersOverlap } from "./topic_filter.ts";

export interface VendorRegistry {
  /** The registered names, in registration order. */
  readonly names: readonly string[];
  /** The adapters, in registration order; the first is the one an unnamed message is for. */
  readonly adapters: readonly VendorAdapter[];
  /** The adapter named `name`, if registered. */
  get(name: string): VendorAdapter | undefined;
  /** The adapter of a command or message: the one it names, or the first registered when it
   * names none that is registered (a message from before messages named their vendor). A Map
   * lookup: it runs for every reply. */
  of(name: string | undefined): VendorAdapter;
}

/** Thrown at start-up by a registration the bridge could not serve unambiguously. */
export class VendorRegistrationError extends Error {
  override name = "VendorRegistrationError";
  readonly code = "VENDOR_REGISTRATION";
}

/** Every MQTT filter the bridge subscribes to for a vendor. */
export function wireFilters(adapter: VendorAdapter): string[] {
  const w = adapter.wire;
  return [...new Set([...w.replyTopics, w.eventsTopic, w.requestsTopic, ...w.presenceTopics])];
}

/**
 * A registry of `adapters`. Refuses an empty list, two adapters with one name, and two whose
 * subscriptions could take the same message: the bridge knows a message's vendor by the filter
 * it matched, so one topic must belong to one vendor.
 */
export function vendorRegistry(adapters: readonly VendorAdapter[]): VendorRegistry {
  if (adapters.length === 0) {
    throw new VendorRegistrationError("Cannot register vendors: the list is empty");
  }
  const byName = new Map<string, VendorAdapter>();
  for (const adapter of adapters) {
    refuseOwnOverlaps(adapter);
    if (byName.has(adapter.name)) {
      throw new VendorRegistrationError(
        `Cannot register vendors: two adapters are named "${adapter.name}"`,
      );
    }
    for (const other of byName.values()) {
      for (const a of wireFilters(adapter)) {
        const b = wireFilters(other).find((b) => filtersOverlap(a, b));
        if (b !== undefined) {
          throw new VendorRegistrationError(
            `Cannot register vendors: "${adapter.name}" subscribes to ${a}, which overlaps ` +
              `"${other.name}"'s ${b}`,
          );
        }
      }
    }
    byName.set(adapter.name, adapter);
  }
  const first = adapters[0];
  return {
    names: [...byName.keys()],
    adapters: [...adapters],
    get: (name) => byName.get(name),
    of: (name) => (name === undefined ? undefined : byName.get(name)) ?? first,
  };
}

/** One vendor's filters must tell its kinds apart: the bridge takes a message as a reply, an event
 * or a request by the filter it matched, and a presence filter is either one of its event or
 * request filters (the same subscription) or matches none of their topics. */
function refuseOwnOverlaps(adapter: VendorAdapter): void {
  const w = adapter.wire;
  const kinds: Array<[string, readonly string[]]> = [
    ["reply", w.replyTopics],
    ["events", [w.eventsTopic]],
    ["requests", [w.requestsTopic]],
  ];
  const refuse = (a: string, b: string) => {
    throw new VendorRegistrationError(
      `Cannot register vendors: "${adapter.name}" subscribes to ${a} and ${b}, which overlap`,
    );
  };
  for (let i = 0; i < kinds.length; i++) {
    for (let j = i + 1; j < kinds.length; j++) {
      for (const a of kinds[i][1]) {
        for (const b of kinds[j][1]) if (filtersOverlap(a, b)) refuse(a, b);
      }
    }
  }
  const shared = new Set([w.eventsTopic, w.requestsTopic]);
  for (const p of w.presenceTopics) {
    if (shared.has(p)) continue;
    for (const [, filters] of kinds) {
      for (const f of filters) if (filtersOverlap(p, f)) refuse(p, f);
    }
  }
}
