// The parameters list endpoints read alike (GET /commands, /devices, /device-requests): `limit`,
// `cursor` decoded by the endpoint's own decoder, and a comma list of statuses. The list endpoints read their
// query strictly (see QuerySpec in route.ts): one 400 VALIDATION_FAILED names every problem.
import { Type } from "@sinclair/typebox";
import { describeValue } from "../json/describe_value.ts";
import { param } from "./route.ts";

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

export const limitParam = param(Type.Integer({ minimum: 1, maximum: LIST_MAX_LIMIT }), {
  description: "Page size",
  default: LIST_DEFAULT_LIMIT,
});

/** `cursor`: the previous page's next_cursor, as this API issued it. */
export function cursorParam<T>(decode: (cursor: string) => T | undefined) {
  return param(Type.String(), {
    description: "The previous page's next_cursor, as it came",
    refine: (cursor: string) => {
      const position = decode(cursor);
      return position === undefined
        ? { reason: "is not a cursor this API issued (pass next_cursor as it came)" }
        : { value: position };
    },
  });
}

/** A comma list of statuses (repeatable): the set, or a reason naming the first unknown one. */
export function statusListParam<S extends string>(statuses: readonly S[]) {
  return param(Type.String(), {
    description: `Comma list of ${statuses.join(", ")}`,
    repeatable: true,
    refine: (values: string[]) => {
      const given = values.flatMap((v) => v.split(",")).map((s) => s.trim());
      const unknown = given.filter((s) => !(statuses as readonly string[]).includes(s));
      return unknown.length > 0
        ? {
          reason: `must be a comma-separated list of ${statuses.join(", ")}, got ${
            describeValue(unknown[0])
          }`,
        }
        : { value: [...new Set(given)] as S[] };
    },
  });
}
