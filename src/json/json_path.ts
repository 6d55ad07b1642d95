// Turns a JSON Pointer inside a value (TypeBox error paths) into the JSONPath callers see,
// e.g. `/params/files/0/list` → `$.payload.params.files[0].list`.

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `path` followed by an object key: `.key` when it is a plain name, else `["key"]`. */
export function appendKey(path: string, key: string): string {
  return PLAIN_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * `root` is the value the pointer walks; it decides whether a numeric segment is an array
 * index (`[0]`) or an object key (`["0"]`), which the pointer alone cannot tell.
 */
export function pointerToJsonPath(pointer: string, root: unknown, prefix = "$"): string {
  if (pointer === "") return prefix;
  let path = prefix;
  let current: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(current) && /^(0|[1-9][0-9]*)$/.test(key)) {
      path += `[${key}]`;
      current = current[Number(key)];
      continue;
    }
    path = appendKey(path, key);
    current = typeof current === "object" && current !== null && Object.hasOwn(current, key)
      ? (current as Record<string, unknown>)[key]
      : undefined;
  }
  return path;
}

/** `/params/files/0/list` → `params.files[].list`: the catalog's notation, to match secret paths. */
export function pointerToCatalogPath(pointer: string, root: unknown): string {
  return pointerToJsonPath(pointer, root, "").replace(/\[[0-9]+\]/g, "[]").replace(/^\./, "");
}
