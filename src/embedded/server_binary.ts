// Finding a server's binary (nats-server, mosquitto) on PATH, and the one line that says how to
// install it when it is not there.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export class MissingBinaryError extends Error {
  override name = "MissingBinaryError";
  readonly code = "BINARY_MISSING";
  constructor(readonly binary: string, message: string) {
    super(message);
  }
}

/** The path of executable `name` in the folders of `path` (a PATH value). */
export function findBinary(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: the next folder.
    }
  }
  return undefined;
}

/** `name`'s path, or a MissingBinaryError whose message is the one line to print. */
export function requireBinary(
  name: string,
  path: string | undefined,
  o: { service: string; variable: string; install: string },
): string {
  const found = findBinary(name, path);
  if (found) return found;
  throw new MissingBinaryError(
    name,
    `${o.service} is not configured (${o.variable}) and nothing answers on its default port; ` +
      `to start one here Downlink needs ${name} on PATH: ${o.install}`,
  );
}
