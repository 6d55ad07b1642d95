// The nesting-depth limit of untrusted JSON (request bodies, device replies). Everything that
// walks such a value later recurses (the request hash, validation, JSON.stringify when it is
// carried on): a value thousands of levels deep would overflow the stack there and become a
// 500 or a lost reply. JSON.parse itself is iterative in V8, so the parsed value is checked
// here, without recursion, before anything else sees it.
import { appendKey } from "./json_path.ts";

/** No command or DJI reply nests anywhere near this deep; a recursive walk of it is cheap. */
export const MAX_JSON_DEPTH = 64;

/** A container still to visit; `parent` and `key` rebuild its path only when it is too deep. */
interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/**
 * The JSONPath of a container (object or array) nested deeper than `limit` in `value`, or
 * undefined when none is. The root container is level 1, so exactly `limit` levels pass.
 */
export function tooDeepAt(value: unknown, limit = MAX_JSON_DEPTH): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: "" }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > limit) return pathOf(frame);
    const children = Array.isArray(frame.value)
      ? frame.value.entries()
      : Object.entries(frame.value);
    for (const [key, child] of children) {
      if (typeof child === "object" && child !== null) {
        stack.push({ value: child, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return undefined;
}

function pathOf(frame: Frame): string {
  const keys: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.push(f.key);
  let path = "$";
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i];
    path = typeof key === "number" ? `${path}[${key}]` : appendKey(path, key);
  }
  return path;
}
