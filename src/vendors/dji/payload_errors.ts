// Turns TypeBox validation errors into the API's `{path, reason}` list: one entry per offending
// JSONPath, in plain words, naming the value seen (but never the value of a secret field).
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { describeKind, describeValue } from "../../json/describe_value.ts";
import { pointerToCatalogPath, pointerToJsonPath } from "../../json/json_path.ts";
import type { PayloadError } from "../vendor_adapter.ts";

export type { PayloadError };

// The whole documented range, whichever bound was crossed: "must be 0-15", as the API's
// other limits read; "to" where a negative bound would make a dash ambiguous.
function range(schema: Record<string, unknown>): string {
  const { minimum: min, maximum: max } = schema;
  if (min === undefined) return `must be <= ${max}`;
  if (max === undefined) return `must be >= ${min}`;
  return (min as number) < 0 || (max as number) < 0
    ? `must be from ${min} to ${max}`
    : `must be ${min}-${max}`;
}

function itemCount(schema: Record<string, unknown>): string {
  const { minItems: min, maxItems: max } = schema;
  const items = (n: unknown) => `${n} item${n === 1 ? "" : "s"}`;
  if (min === max) return `must have exactly ${items(min)}`;
  if (min === undefined) return `must have at most ${items(max)}`;
  if (max === undefined) return `must have at least ${items(min)}`;
  return `must have ${min}-${max} items`;
}

function expected(error: ValueError): string {
  const schema = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.String:
      return "must be a string";
    case ValueErrorType.Integer:
      return "must be an integer";
    case ValueErrorType.Number:
      return "must be a number";
    case ValueErrorType.Boolean:
      return "must be a boolean";
    case ValueErrorType.Object:
      return "must be an object";
    case ValueErrorType.Array:
      return "must be an array";
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return range(schema);
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema["maxLength"]} characters long`;
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems:
      return itemCount(schema);
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema["const"])}`;
    case ValueErrorType.Union:
      return typeof schema["description"] === "string"
        ? `must be ${schema["description"]}`
        : "does not match any allowed shape";
    default:
      return error.message;
  }
}

// A count or length error names the count: "got 2" says more than "got an array".
function seen(error: ValueError, secret: boolean): string {
  switch (error.type) {
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems:
    case ValueErrorType.StringMaxLength:
      return String((error.value as string | unknown[]).length);
    default:
      return secret ? describeKind(error.value) : describeValue(error.value);
  }
}

// A union error only says "no variant matched". When the value has the outer shape of one
// variant (every error of that variant lies below the union's path), that variant's errors
// name the real culprit, e.g. `list[0].boot_index` rather than `list`.
function expandUnion(error: ValueError): ValueError[] {
  let best: ValueError[] | undefined;
  for (const variant of error.errors) {
    const errors = [...variant];
    const deeper = errors.length > 0 && errors.every((e) => e.path.startsWith(`${error.path}/`));
    if (deeper && (!best || errors.length < best.length)) best = errors;
  }
  return best
    ? best.flatMap((e) => (e.type === ValueErrorType.Union ? expandUnion(e) : [e]))
    : [error];
}

// A value inside a secret (`secret_code[3]`) or holding one (`credentials` sent as a string)
// may carry the secret itself.
function touchesSecret(path: string, secretPaths: readonly string[]): boolean {
  const within = (inner: string, outer: string) =>
    outer === "" || inner === outer || inner.startsWith(`${outer}.`) ||
    inner.startsWith(`${outer}[`);
  return secretPaths.some((secret) => within(path, secret) || within(secret, path));
}

/**
 * `root` is the payload that was checked; `secretPaths` are catalog paths (`credentials.access_key_secret`)
 * whose values are described by kind only.
 */
export function toPayloadErrors(
  errors: Iterable<ValueError>,
  root: unknown,
  secretPaths: readonly string[],
): PayloadError[] {
  const byPath = new Map<string, string>();
  for (const raw of errors) {
    for (const error of raw.type === ValueErrorType.Union ? expandUnion(raw) : [raw]) {
      const path = pointerToJsonPath(error.path, root, "$.payload");
      // TypeBox reports a missing required field twice (required, then wrong type): keep the first.
      if (byPath.has(path)) continue;
      // JSON has no undefined: a value of undefined is a field (or the payload) that is missing.
      if (error.type === ValueErrorType.ObjectRequiredProperty || error.value === undefined) {
        byPath.set(path, "is required");
        continue;
      }
      const secret = touchesSecret(pointerToCatalogPath(error.path, root), secretPaths);
      byPath.set(path, `${expected(error)}, got ${seen(error, secret)}`);
    }
  }
  return [...byPath].map(([path, reason]) => ({ path, reason }));
}
