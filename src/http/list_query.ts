// The parameters every list endpoint reads alike (GET /commands, /devices, /device-requests):
// `limit`, and `cursor` decoded by the endpoint's own decoder. The list endpoints read their
// query strictly (see QuerySpec in route.ts): one 400 VALIDATION_FAILED names every problem.
import { Type } from "@sinclair/typebox";
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
