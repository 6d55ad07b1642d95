// The POST body of a command: the envelope's TypeBox schema (compiled once), its rules beyond
// the schema (a registered vendor, its catalog), and the payload check of the command type.
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import { describeValue } from "../json/describe_value.ts";
import { type ErrorDetail, ValidationError } from "./errors.ts";

export const DEVICE_ID = "^[A-Za-z0-9][A-Za-z0-9._-]*$";
export const MAX_TIMEOUT_SECONDS = 300;

export const CommandRequestSchema = Type.Object({
  vendor: Type.String(),
  device_id: Type.String({ minLength: 1, maxLength: 64, pattern: DEVICE_ID }),
  command_type: Type.String({ minLength: 1 }),
  idempotency_key: Type.String({ minLength: 1, maxLength: 128, pattern: "^[\\x20-\\x7E]+$" }),
  timeout_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TIMEOUT_SECONDS })),
  payload: Type.Optional(Type.Object({})),
}, { additionalProperties: false });

const checkEnvelope = TypeCompiler.Compile(CommandRequestSchema);

/** A valid command request, the default timeout applied. */
export interface CommandRequest {
  vendor: string;
  device_id: string;
  command_type: string;
  idempotency_key: string;
  timeout_seconds: number;
  payload: Record<string, unknown>;
  channel: string;
}

/** The rule of `vendor`: `must be "dji"`, or with several registered `must be one of "dji", "acme"`. */
export function vendorRule(names: readonly string[]): string {
  const quoted = names.map((n) => JSON.stringify(n));
  return quoted.length === 1 ? `must be ${quoted[0]}` : `must be one of ${quoted.join(", ")}`;
}

const RULES: Record<string, string> = {
  vendor: "must be a registered vendor",
  device_id: "must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit",
  command_type: "must be a command type of the catalog",
  idempotency_key: "must be 1-128 printable ASCII characters",
  timeout_seconds: `must be an integer 0-${MAX_TIMEOUT_SECONDS}`,
  payload: "must be an object",
};

function envelopeErrors(body: unknown, vendors: readonly string[]): ErrorDetail[] {
  const byPath = new Map<string, string>();
  for (const e of checkEnvelope.Errors(body) as Iterable<ValueError>) {
    const field = e.path.split("/")[1] ?? "";
    const path = field === "" ? "$" : `$.${field}`;
    if (byPath.has(path)) continue;
    if (e.type === ValueErrorType.ObjectAdditionalProperties || !(field in RULES)) {
      if (field === "") {
        if (e.type === ValueErrorType.Object) byPath.set("$", "must be a JSON object");
        continue;
      }
      byPath.set(path, "is not a known field");
    } else if (e.type === ValueErrorType.ObjectRequiredProperty || e.value === undefined) {
      byPath.set(path, "is required");
    } else {
      const rule = field === "vendor" ? vendorRule(vendors) : RULES[field];
      byPath.set(path, `${rule}, got ${describeValue(e.value)}`);
    }
  }
  return [...byPath].map(([path, reason]) => ({ path, reason }));
}

/**
 * Validates a parsed body. Throws ValidationError: UNSUPPORTED_VENDOR or UNSUPPORTED_COMMAND
 * when those fields are well-formed strings naming nothing we know, else VALIDATION_FAILED
 * listing every offending JSON path (envelope and payload together).
 */
export function parseCommandRequest(
  body: unknown,
  defaultTimeoutSeconds: number,
  vendors: Pick<VendorRegistry, "names" | "get" | "of">,
): CommandRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("VALIDATION_FAILED", "Request body must be a JSON object", [
      { path: "$", reason: `must be a JSON object, got ${describeValue(body)}` },
    ]);
  }
  const b = body as Record<string, unknown>;
  if (typeof b.vendor === "string" && !vendors.get(b.vendor)) {
    throw new ValidationError(
      "UNSUPPORTED_VENDOR",
      `Cannot accept command: vendor must be one of ${vendors.names.join(", ")}, got ${
        describeValue(b.vendor)
      }`,
    );
  }
  // A body without a (string) vendor is refused below; its command_type is still checked, in
  // the first registered vendor's catalog, so that every problem is named at once.
  const vendor = vendors.of(typeof b.vendor === "string" ? b.vendor : undefined);
  const entry = typeof b.command_type === "string" ? vendor.findCommand(b.command_type) : undefined;
  if (typeof b.command_type === "string" && b.command_type !== "" && !entry) {
    throw new ValidationError(
      "UNSUPPORTED_COMMAND",
      `Cannot accept command: command_type ${describeValue(b.command_type)} is not in the ${
        String(b.vendor ?? vendor.name)
      } catalog`,
    );
  }
  const ok = checkEnvelope.Check(body);
  const details = ok ? [] : envelopeErrors(body, vendors.names);
  const payload = b.payload === undefined ? {} : b.payload;
  if (entry && typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const result = vendor.validatePayload(entry.method, payload);
    if (!result.ok) details.push(...result.errors);
  }
  if (details.length > 0) {
    const first = details[0];
    throw new ValidationError(
      "VALIDATION_FAILED",
      `Cannot accept command: ${first.path} ${first.reason}${
        details.length > 1 ? ` (and ${details.length - 1} more)` : ""
      }`,
      details,
    );
  }
  const timeout = b.timeout_seconds as number | undefined;
  return {
    vendor: b.vendor as string,
    device_id: b.device_id as string,
    command_type: entry!.method,
    idempotency_key: b.idempotency_key as string,
    timeout_seconds: !timeout ? defaultTimeoutSeconds : timeout,
    payload: payload as Record<string, unknown>,
    channel: entry!.channel,
  };
}
