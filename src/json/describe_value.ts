// Short, safe renderings of untrusted values for messages ("..., got 301"), so a message
// names the value seen without dumping whole objects or throwing on odd input.

const MAX_STRING = 60;

/** The value itself when it is short and scalar, else its kind. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return describeKind(value);
}

/** Only the kind of a value ("a string", "an array"): for secrets, whose values must not leak. */
export function describeKind(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}
