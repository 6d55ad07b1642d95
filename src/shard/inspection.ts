// The Stately inspector for live actors (DOWNLINK_INSPECT=1): every device shard and command
// actor reports its events and snapshots to a Stately Sky session, a hosted service on the
// internet. Connected, the library prints the session's link; unreachable, one warning says so.
import type { InspectionEvent } from "xstate";
import type { Logger } from "../runtime/log.ts";

export interface Inspection {
  inspect: (event: InspectionEvent) => void;
  stop(): void;
}

/** Where Stately Sky's inspector socket lives (fixed inside @statelyai/inspect 0.7). */
export const SKY_HOST = "stately-sky-beta.mellson.partykit.dev";

/** The part of @statelyai/inspect's createSkyInspector Downlink uses. */
export type SkyInspectorFactory = (options: { onerror: (err: unknown) => void }) => {
  inspect: { next?: (event: InspectionEvent) => void };
  stop(): void;
};

/** What failed, from the websocket's ErrorEvent (whose own string is "[object Object]"). */
export function inspectorErrorText(err: unknown): string {
  const e = err as { message?: unknown; error?: { message?: unknown } } | null;
  const text = e?.error?.message ?? e?.message;
  return typeof text === "string" && text !== "" ? text : String(err);
}

/** The session link, from the socket's address (`…/party/inspect-<session>`) when the error
 * carries it: the library prints it itself only once connected. */
export function sessionLink(err: unknown): string | undefined {
  const url = (err as { target?: { url?: unknown } } | null)?.target?.url;
  const session = typeof url === "string" ? /\/inspect-([0-9a-f-]{36})/.exec(url)?.[1] : undefined;
  return session ? `https://stately.ai/registry/inspect/${session}` : undefined;
}

/** Loaded lazily so that the inspector's websocket code is only touched when enabled. Never
 * throws: without network the socket keeps retrying quietly and Downlink runs on. */
export async function createInspection(
  log: Logger,
  factory?: SkyInspectorFactory,
): Promise<Inspection | undefined> {
  try {
    const create = factory ??
      ((await import("@statelyai/inspect")).createSkyInspector as unknown as SkyInspectorFactory);
    let warned = false;
    const inspector = create({
      onerror: (err) => {
        // The socket retries every few seconds for as long as it runs: one line, not one each.
        if (warned) return;
        warned = true;
        const link = sessionLink(err);
        log.warn(
          `Stately inspector unreachable: cannot connect to ${SKY_HOST} ` +
            `(${inspectorErrorText(err)}); Downlink runs on without it and retries quietly` +
            (link ? `; once connected, the session is ${link}` : ""),
        );
      },
    });
    log.info(
      `Stately inspector on: connecting to ${SKY_HOST}; once connected it prints ` +
        "'Connected to Sky, link to your live inspect session:' and the link",
    );
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
