// The `{command_id}` path parameter of the command routes: a UUID, or 400 naming the parameter
// (a typo in an id is the caller's mistake to see, not a "no such command").
import { Type } from "@sinclair/typebox";
import { param, readPath } from "./route.ts";

export const commandIdPath = {
  params: { command_id: param(Type.String({ format: "uuid" })) },
  cannot: "Cannot read command",
};

export function parseCommandId(raw: string): string {
  return readPath(commandIdPath, { command_id: raw }).command_id;
}
