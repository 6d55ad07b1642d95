// A signed request's body as JSON: parsed, and refused before any recursive walk (validation, a
// hash) if it nests deeper than the limit.
import { MAX_JSON_DEPTH, tooDeepAt } from "../json/json_depth.ts";
import { ValidationError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The parsed body; `cannot` ("Cannot accept command") starts the message of a body too deep. */
export function parseJsonBody(raw: Uint8Array, cannot: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(raw));
  } catch (err) {
    throw new ValidationError(
      "INVALID_REQUEST_BODY",
      `Request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  const tooDeep = tooDeepAt(body);
  if (tooDeep !== undefined) {
    const reason = `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    throw new ValidationError("VALIDATION_FAILED", `${cannot}: ${tooDeep} ${reason}`, [
      { path: tooDeep, reason },
    ]);
  }
  return body;
}
