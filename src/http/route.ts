// One definition per route: its path and query parameters and its body as schemas, its scope and
// its answers. The check a request passes before the handler runs and the route's OpenAPI
// operation are both derived from it, so a route cannot be served undocumented, nor documented
// other than it checks.
import type { TSchema } from "@sinclair/typebox";
import type { Context, Env, Hono } from "hono";
import { isUuid } from "../command/ids.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";
import { describeValue } from "../json/describe_value.ts";
import { requireScope } from "./auth.ts";
import { type ErrorDetail, ValidationError } from "./errors.ts";
import { parseJsonBody } from "./json_body.ts";

/** What reading a parameter's value further gave: the value, or why it is refused. */
export type Refined<T> = { value: T } | { reason: string };

/** A path or query parameter: a scalar JSON Schema (TypeBox) whose every keyword is enforced. */
export interface Param<T = unknown, Defaulted extends boolean = boolean> {
  schema: TSchema;
  description?: string;
  /** What a refused value breaks, for the 400 ("must be ..."); by default said from the schema. */
  rule: string;
  /** Reads a value the schema allows further (e.g. decodes a cursor); for a repeatable parameter
   * it gets every value given. `deps` are those the route is served with (e.g. the vendor whose
   * catalog a command type must be in), so a rule needing them is still stated here. */
  refine?: (value: any, deps: any) => Refined<T>;
  /** The schema's check, compiled once. */
  check: (raw: string) => string | number | boolean | undefined;
  /** Given more than once, every value counts (status=A&status=B); else the first counts, and a
   * strict query refuses it. */
  repeatable: boolean;
  /** The value when the parameter is absent (documented as the schema's `default`). */
  default?: T;
  /** Only a type marker: a parameter with a default is never undefined. */
  readonly defaulted?: Defaulted;
}

export interface ParamOptions<T> {
  description?: string;
  rule?: string;
  refine?: (value: any, deps: any) => Refined<T>;
  repeatable?: boolean;
  default?: T;
}

// Keywords a parameter's schema may use, by type: those the check below enforces for it.
const ENFORCED: Record<string, ReadonlySet<string>> = {
  string: new Set(["type", "enum", "pattern", "minLength", "maxLength", "format"]),
  integer: new Set(["type", "enum", "minimum", "maximum"]),
  boolean: new Set(["type"]),
};
// `default` is an option of `param`, so that its type is known.
const ANNOTATIONS = new Set(["description", "title", "examples"]);

const FORMATS: Record<string, { rule: string; test: (v: string) => boolean }> = {
  uuid: { rule: "must be a UUID", test: isUuid },
  "date-time": {
    rule: "must be an RFC 3339 date-time",
    test: (v) =>
      /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/.test(v) &&
      !Number.isNaN(Date.parse(v)),
  },
};

/** The rule a schema states, in the words of a 400. */
function ruleOf(schema: Record<string, any>): string | undefined {
  if (Array.isArray(schema.enum)) return `must be one of ${schema.enum.join(", ")}`;
  if (schema.format !== undefined) return FORMATS[schema.format]?.rule;
  if (schema.type === "boolean") return "must be true or false";
  if (schema.type === "integer" && schema.minimum !== undefined && schema.maximum !== undefined) {
    return `must be an integer ${schema.minimum}-${schema.maximum}`;
  }
  return undefined;
}

/** A parameter; throws at start-up when its schema uses a keyword the check would not enforce. */
export function param<T>(
  schema: TSchema,
  options: ParamOptions<T> & { refine: (value: any, deps: any) => Refined<T> },
): Param<T, false>;
export function param<S extends TSchema>(
  schema: S,
  options: ParamOptions<S["static"]> & { default: S["static"] },
): Param<S["static"], true>;
export function param<S extends TSchema>(
  schema: S,
  options?: ParamOptions<S["static"]>,
): Param<S["static"], false>;
export function param(schema: TSchema, options: ParamOptions<unknown> = {}): Param {
  const enforced = ENFORCED[schema.type];
  if (!enforced) {
    throw new Error(
      `A parameter's schema must be a string, integer or boolean, got ${schema.type}`,
    );
  }
  for (const key of Object.keys(schema)) {
    if (!enforced.has(key) && !ANNOTATIONS.has(key)) {
      throw new Error(
        `A ${schema.type} parameter may not use ${key}: the request check ignores it`,
      );
    }
  }
  // The check reads digits only: a schema allowing a sign would promise what it refuses.
  if (schema.type === "integer" && !(schema.minimum >= 0)) {
    throw new Error("An integer parameter needs a minimum of 0 or more");
  }
  if (schema.format !== undefined && !FORMATS[schema.format]) {
    throw new Error(`A parameter's schema may not use format ${schema.format}: not checked`);
  }
  // A string bound by nothing refuses no value: its rule is never said.
  const unbound = schema.type === "string" &&
    Object.keys(schema).every((k) => k === "type" || ANNOTATIONS.has(k));
  const rule = options.rule ?? ruleOf(schema) ?? (unbound ? "must be a string" : undefined);
  if (rule === undefined) {
    throw new Error(`A parameter with ${JSON.stringify(schema)} needs a rule`);
  }
  return {
    schema,
    rule,
    check: scalarCheck(schema),
    repeatable: options.repeatable ?? false,
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.refine ? { refine: options.refine } : {}),
    ...(options.default !== undefined ? { default: options.default } : {}),
  };
}

type ParamValue<P> = P extends Param<infer T, infer D> ? D extends true ? T : T | undefined
  : never;
export type ParamValues<P extends Record<string, Param>> = { [K in keyof P]: ParamValue<P[K]> };
/** A path's parameters are always there. */
export type PathValues<P extends Record<string, Param>> = {
  [K in keyof P]: P[K] extends Param<infer T, boolean> ? T : never;
};

/** The check of a scalar schema, its patterns compiled once: the value the schema allows `raw`
 * to stand for, or undefined when it allows none. */
function scalarCheck(
  schema: Record<string, any>,
): (raw: string) => string | number | boolean | undefined {
  const inEnum = (value: unknown) => !Array.isArray(schema.enum) || schema.enum.includes(value);
  if (schema.type === "boolean") {
    return (raw) => raw === "true" ? true : raw === "false" ? false : undefined;
  }
  if (schema.type === "integer") {
    // Digits only (minimum >= 0), at most one more than the maximum has: a leading zero.
    const digits = new RegExp(
      `^\\d{1,${schema.maximum === undefined ? 15 : String(schema.maximum).length + 1}}$`,
    );
    return (raw) => {
      if (!digits.test(raw)) return undefined;
      const value = Number(raw);
      if (value < schema.minimum) return undefined;
      if (schema.maximum !== undefined && value > schema.maximum) return undefined;
      return inEnum(value) ? value : undefined;
    };
  }
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern);
  const format = schema.format === undefined ? undefined : FORMATS[schema.format];
  return (raw) => {
    if (schema.minLength !== undefined && raw.length < schema.minLength) return undefined;
    if (schema.maxLength !== undefined && raw.length > schema.maxLength) return undefined;
    if (pattern && !pattern.test(raw)) return undefined;
    if (format && !format.test(raw)) return undefined;
    return inEnum(raw) ? raw : undefined;
  };
}

/** Reads one parameter's values: the value, or the reason it is refused. */
function readParam(p: Param, values: string[], deps: unknown): Refined<unknown> {
  const checked: unknown[] = [];
  for (const raw of p.repeatable ? values : values.slice(0, 1)) {
    const value = p.check(raw);
    if (value === undefined) return { reason: `${p.rule}, got ${describeValue(raw)}` };
    checked.push(value);
  }
  if (p.refine) return p.refine(p.repeatable ? checked : checked[0], deps);
  return { value: p.repeatable ? checked : checked[0] };
}

/** How a route's query string is read. */
export interface QuerySpec<P extends Record<string, Param> = Record<string, Param>> {
  /** In order of checking (and of the document). */
  params: P;
  /** Starts the 400's message: "Cannot list commands". */
  cannot: string;
  /**
   * Strict (the list endpoints): unknown parameters and a single-valued one given twice are
   * refused (a misspelt filter must not silently widen the answer), and the 400 names every
   * problem. Lenient: unknown parameters are ignored, the first value counts, and the 400 names
   * the first problem.
   */
  strict: boolean;
}

/** Reads a query string as `spec` says (`deps` go to the parameters' refine); throws
 * VALIDATION_FAILED. */
export function readQuery<P extends Record<string, Param>>(
  spec: QuerySpec<P>,
  queries: Record<string, string[]>,
  deps?: unknown,
): ParamValues<P> {
  const details: ErrorDetail[] = [];
  const fail = (name: string, reason: string) => details.push({ path: `query.${name}`, reason });
  if (spec.strict) {
    for (const name of Object.keys(queries)) {
      if (!Object.hasOwn(spec.params, name)) fail(name, "is not a known parameter");
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec.params)) {
    const values = Object.hasOwn(queries, name) ? queries[name] : undefined;
    if (!values || values.length === 0) {
      if (p.default !== undefined) out[name] = p.default;
      continue;
    }
    if (spec.strict && !p.repeatable && values.length > 1) fail(name, "must be given at most once");
    const read = readParam(p, values, deps);
    if ("value" in read) out[name] = read.value;
    else {
      fail(name, read.reason);
      if (!spec.strict) break;
    }
  }
  if (details.length > 0) {
    const message = spec.strict
      ? details.map((d) => `${d.path} ${d.reason}`).join("; ")
      : `${details[0].path.slice("query.".length)} ${details[0].reason}`;
    throw new ValidationError("VALIDATION_FAILED", `${spec.cannot}: ${message}`, details);
  }
  return out as ParamValues<P>;
}

/** How a route's path parameters are read. */
export interface PathSpec<P extends Record<string, Param> = Record<string, Param>> {
  params: P;
  /** The error a refused value answers; by default 400 VALIDATION_FAILED starting "{cannot}:". */
  invalid?: (name: string, raw: string, rule: string) => Error;
  cannot?: string;
}

/** Reads the path parameters; throws the spec's error for the first refused one. */
export function readPath<P extends Record<string, Param>>(
  spec: PathSpec<P>,
  raw: Record<string, string>,
  deps?: unknown,
): PathValues<P> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec.params)) {
    const given = raw[name] ?? "";
    const read = readParam(p, [given], deps);
    if ("value" in read) {
      out[name] = read.value;
      continue;
    }
    if (spec.invalid) throw spec.invalid(name, given, p.rule);
    throw new ValidationError(
      "VALIDATION_FAILED",
      `${spec.cannot}: path.${name} ${p.rule}, got ${JSON.stringify(given.slice(0, 80))}`,
      [{ path: `path.${name}`, reason: p.rule }],
    );
  }
  return out as PathValues<P>;
}

/** A JSON body: read from the raw bytes the signature covered, then checked by `read`. */
export interface BodySpec<B, D> {
  /** Its schema, documented under this name in components.schemas. */
  name: string;
  schema: TSchema;
  description: string;
  /** The document's example body; given the vendor the app serves, whose example command it may
   * be. */
  example?: (vendor: Pick<VendorAdapter, "exampleCommand">) => unknown;
  /** Starts the message of a body nested too deep: "Cannot accept command". */
  cannot: string;
  /** Checks the parsed JSON against `schema` (and what the schema cannot say); throws a 400. */
  read: (json: unknown, deps: D) => B;
}

/** A documented header of a response. */
export interface HeaderSpec {
  description: string;
  schema: Record<string, unknown>;
}

/** An answer: a components.responses name (the error answers), or described in place. */
export type ResponseSpec = string | {
  description: string;
  /** A components.schemas name, or a schema in place. */
  schema?: string | Record<string, unknown>;
  /** application/json unless said. */
  contentType?: string;
  headers?: Record<string, HeaderSpec>;
};

export interface RouteInput<P, Q, B> {
  path: P;
  query: Q;
  body: B;
}

// deno-lint-ignore ban-types
type NoParams = {};

export interface Route<
  D = any,
  E extends Env = any,
  P extends Record<string, Param> = any,
  Q extends Record<string, Param> = any,
  B = any,
> {
  method: "get" | "post";
  /** The whole path, in hono's syntax (`/commands/:command_id`). */
  path: string;
  operationId: string;
  summary: string;
  /** Signed (the default) or open to anyone. */
  unsigned?: boolean;
  /** The scope the client needs, checked before anything else of the request. */
  scope?: string;
  pathParams?: PathSpec<P>;
  query?: QuerySpec<Q>;
  body?: BodySpec<B, D>;
  responses: Record<string, ResponseSpec>;
  handle(
    c: Context<E>,
    input: RouteInput<PathValues<P>, ParamValues<Q>, B>,
    deps: D,
  ): Response | Promise<Response>;
}

/** Declares a route (an identity that lets TypeScript infer the parameters' types). */
export function defineRoute<
  D,
  E extends Env,
  P extends Record<string, Param> = NoParams,
  Q extends Record<string, Param> = NoParams,
  B = undefined,
>(route: Route<D, E, P, Q, B>): Route<D, E, P, Q, B> {
  return route;
}

/**
 * Serves `routes` on `app`, which is mounted at `prefix`: each handler runs behind the check its
 * definition states (scope, path, query, body, in that order).
 */
export function serveRoutes<D, E extends Env>(
  app: Hono<E>,
  prefix: string,
  routes: readonly Route<D, E>[],
  deps: D,
): void {
  for (const route of routes) {
    if (!route.path.startsWith(prefix)) {
      throw new Error(`${route.path} is not under ${prefix}`);
    }
    const path = route.path.slice(prefix.length) || "/";
    app.on(route.method.toUpperCase(), path, async (c) => {
      if (route.scope) requireScope((c as Context).get("client"), route.scope);
      const input = {
        path: route.pathParams ? readPath(route.pathParams, c.req.param() as never, deps) : {},
        query: route.query ? readQuery(route.query, c.req.queries() ?? {}, deps) : {},
        body: route.body
          ? route.body.read(
            parseJsonBody((c as Context).get("rawBody"), route.body.cannot),
            deps,
          )
          : undefined,
      };
      return await route.handle(c, input, deps);
    });
  }
}

/** Every route an app serves, as it serves them: what its OpenAPI document is made of. */
export interface RouteTable {
  /** As serveRoutes; `signed` says whether `app` checks signatures, which each route's
   * definition (documented security) must agree with. */
  serve<D, E extends Env>(
    app: Hono<E>,
    prefix: string,
    routes: readonly Route<D, E>[],
    deps: D,
    options: { signed: boolean },
  ): void;
  readonly routes: readonly Route[];
}

export function createRouteTable(): RouteTable {
  const routes: Route[] = [];
  return {
    serve(app, prefix, served, deps, { signed }) {
      for (const route of served) {
        if (!route.unsigned !== signed) {
          throw new Error(
            `${route.operationId} is defined ${route.unsigned ? "unsigned" : "signed"} but ` +
              `served ${signed ? "signed" : "unsigned"}`,
          );
        }
      }
      serveRoutes(app, prefix, served, deps);
      routes.push(...served);
    },
    routes,
  };
}
