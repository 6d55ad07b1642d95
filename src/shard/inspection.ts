// The Stately inspector for live actors (DOWNLINK_INSPECT=1): every device shard and command
// actor reports its events and snapshots to a Stately Sky session whose link is logged.
import type { InspectionEvent } from "xstate";
import type { Logger } from "../log.ts";

export interface Inspection {
  inspect: (event: InspectionEvent) => void;
  stop(): void;
}

/** Loaded lazily so that the inspector's websocket code is only touched when enabled. Never
 * throws: without network the inspector keeps retrying in the background and Downlink runs on. */
export async function createInspection(log: Logger): Promise<Inspection | undefined> {
  try {
    const { createSkyInspector } = await import("@statelyai/inspect");
    const inspector = createSkyInspector({
      onerror: (err: unknown) =>
        log.warn("inspector connection failed (Downlink keeps running)", {
          err: err instanceof Error ? err : String(err),
        }),
    });
    log.info("Stately inspector on: open the link printed as 'link to your live inspect session'");
    return {
      inspect: (event) => {
        try {
          inspector.inspect.next?.(event);
        } catch {
          // Inspection must never break the lifecycle.
        }
      },
      stop: () => inspector.stop(),
    };
  } catch (err) {
    log.warn("inspector unavailable", { err });
    return undefined;
  }
}
