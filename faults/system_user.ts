// Looks up a system account (postgres, mosquitto) whose servers refuse to run as root or drop
// to it, so the suite can hand them the folders they write.
import { readFileSync } from "node:fs";

export function systemUser(name: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}
