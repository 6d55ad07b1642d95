// How a command's times are written wherever a caller reads them (events, failure reasons).

/** RFC 3339 UTC with milliseconds, e.g. 2026-04-22T12:00:00.000Z. */
export function rfc3339(ms: number | Date): string {
  return (typeof ms === "number" ? new Date(ms) : ms).toISOString();
}
