// The `{command_id}` path parameter of the command routes: a UUID, or 400 naming the parameter
// (a typo in an id is the caller's mistake to see, not a "no such command").
import { isUuid } from "../ids.ts";
import { ValidationError } from "./errors.ts";

export function parseCommandId(raw: string): string {
  if (isUuid(raw)) return raw;
  throw new ValidationError(
    "VALIDATION_FAILED",
    `Cannot read command: path.command_id must be a UUID, got ${JSON.stringify(raw.slice(0, 80))}`,
    [{ path: "path.command_id", reason: "must be a UUID" }],
  );
}
