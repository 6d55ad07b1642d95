// Validates a command's payload against its method's schema. On the request hot path:
// each schema is compiled once (TypeCompiler) and cached; errors are only walked on failure.
import type { TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { findCommand } from "./catalog.ts";
import { describeValue } from "../../json/describe_value.ts";
import { schemaFromFields } from "./field_schema.ts";
import { FileuploadStartPayload } from "./fileupload_start_schema.ts";
import { toPayloadErrors } from "./payload_errors.ts";
import type { PayloadValidation } from "../vendor_adapter.ts";

export type { PayloadValidation };

export type { PayloadError } from "./payload_errors.ts";

// Methods whose contract is written by hand rather than built from the catalog's field list.
const HAND_WRITTEN: Readonly<Record<string, TSchema>> = {
  fileupload_start: FileuploadStartPayload,
};

const compiled = new Map<string, TypeCheck<TSchema>>();

/** The payload schema of a catalog method (for OpenAPI and the catalog endpoint), else undefined. */
export function payloadSchema(method: string): TSchema | undefined {
  const entry = findCommand(method);
  if (!entry) return undefined;
  return Object.hasOwn(HAND_WRITTEN, method)
    ? HAND_WRITTEN[method]
    : schemaFromFields(entry.fields);
}

function checkerFor(method: string): TypeCheck<TSchema> | undefined {
  let checker = compiled.get(method);
  if (!checker) {
    const schema = payloadSchema(method);
    if (!schema) return undefined;
    checker = TypeCompiler.Compile(schema);
    compiled.set(method, checker);
  }
  return checker;
}

/**
 * Checks `payload` (the request body's `payload`, which must be an object) for `method`.
 * Every offending path is listed, rooted at the body: `$.payload.credentials.expire`.
 * Callers that treat an absent payload as `{}` must pass `{}`.
 */
export function validatePayload(method: string, payload: unknown): PayloadValidation {
  const checker = checkerFor(method);
  if (!checker) {
    return {
      ok: false,
      errors: [{
        path: "$.command_type",
        reason: `is not a DJI command, got ${describeValue(method)}`,
      }],
    };
  }
  if (checker.Check(payload)) return { ok: true };
  const secrets = findCommand(method)?.secret_fields ?? [];
  const errors = toPayloadErrors(checker.Errors(payload), payload, secrets);
  // Check and Errors share one schema, so this cannot be empty; a bare failure still names the payload.
  return {
    ok: false,
    errors: errors.length > 0 ? errors : [{ path: "$.payload", reason: "is invalid" }],
  };
}
