// Who the embedded servers run as. PostgreSQL refuses to run as root, and a data folder written
// by root-run servers would be root's: as root, every embedded server runs as `nobody`, which
// every Linux has (no account is added to the machine), and its data folder belongs to it.
import { chownSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

export const SERVICE_USER_NAME = "nobody";

export class ServiceUserError extends Error {
  override name = "ServiceUserError";
  readonly code = "SERVICE_USER_UNUSABLE";
}

/** The user to run servers as; undefined when this process is not root (they run as us). */
export function serviceUser(
  uid = process.getuid?.(),
  passwd = () => readFileSync("/etc/passwd", "utf8"),
): ServiceUser | undefined {
  if (uid !== 0) return undefined;
  for (const line of passwd().split("\n")) {
    const [name, , u, g] = line.split(":");
    if (name === SERVICE_USER_NAME) return { name, uid: Number(u), gid: Number(g) };
  }
  throw new ServiceUserError(
    `running as root, the embedded servers need the user ${SERVICE_USER_NAME} (PostgreSQL ` +
      `refuses root), and /etc/passwd has none: run as another user or set the service URLs`,
  );
}

/** Throws, naming the folder, when `user` cannot reach `path`: every folder above it must let
 * others through (x), as /root does not. */
export function assertReachable(path: string, user: ServiceUser, what: string): void {
  let dir = resolve(path);
  for (;;) {
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
    const st = statSync(dir);
    const through = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & through) === 0) {
      throw new ServiceUserError(
        `the embedded servers run as ${user.name} (as root), who cannot reach ${what} ` +
          `${path}: ${dir} is mode ${(st.mode & 0o777).toString(8)}; chmod o+x ${dir}, keep the ` +
          `checkout and DOWNLINK_DATA_DIR out of such folders (not under /root), or set the ` +
          `service URLs`,
      );
    }
  }
}

/** Makes `dir` (already created) the service user's, when there is one. */
export function giveTo(dir: string, user: ServiceUser | undefined): void {
  if (user) chownSync(dir, user.uid, user.gid);
}
