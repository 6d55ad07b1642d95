// GET /api/v1/open/downlink/catalog: every command type a caller may send, each vendor's, with
// the JSON Schema of its payload. Built from the catalogs once; it holds names and schemas, never
// values.
import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import type { CatalogEntry, VendorAdapter } from "../vendors/vendor_adapter.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import type { ApiEnv } from "./api_env.ts";
import { defineRoute, param } from "./route.ts";

export const CATALOG_PATH = "/api/v1/open/downlink/catalog";

export interface CatalogItem {
  /** The registered vendor whose command type it is. */
  vendor: string;
  method: string;
  module: string;
  channel: CatalogEntry["channel"];
  summary: string;
  devices: readonly string[];
  progress_event?: string;
  /** The progress statuses that end the job (progress.finished_at). */
  progress_terminal_statuses?: readonly string[];
  /** The class a dock runs one at a time, with the codes it refuses a second job with. */
  exclusivity_class?: { name: string; busy_codes: readonly number[] };
  /** Payload paths stored encrypted and never logged (names only). */
  secret_fields: readonly string[];
  /** JSON Schema of `payload` (TypeBox schemas are JSON Schema). */
  payload_schema: Record<string, unknown>;
}

/** A TypeBox schema as plain JSON Schema: TypeBox's symbol keys do not survive JSON. */
export function plainJsonSchema(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema));
}

const built = new WeakMap<VendorAdapter | VendorRegistry, CatalogItem[]>();

/** The catalog as the API shows it: each vendor's in registration order, each sorted by method
 * (built once per registry). */
export function catalogItems(vendors: Pick<VendorRegistry, "adapters">): CatalogItem[] {
  const cached = built.get(vendors as VendorRegistry);
  if (cached) return cached;
  const items = vendors.adapters.flatMap(vendorItems);
  built.set(vendors as VendorRegistry, items);
  return items;
}

function vendorItems(vendor: VendorAdapter): CatalogItem[] {
  const cached = built.get(vendor);
  if (cached) return cached;
  const items = vendor.listCommands().map((entry) => {
    const item: CatalogItem = {
      vendor: vendor.name,
      method: entry.method,
      module: entry.module,
      channel: entry.channel,
      summary: entry.summary,
      devices: entry.devices,
      secret_fields: entry.secret_fields,
      payload_schema: plainJsonSchema(vendor.payloadSchema(entry.method)),
    };
    if (entry.progress_event) {
      item.progress_event = entry.progress_event;
      item.progress_terminal_statuses = vendor.terminalStatusesOf(entry.progress_event);
    }
    const kind = vendor.exclusivityClassOf(entry.method);
    if (kind) item.exclusivity_class = { name: kind.name, busy_codes: kind.busy_codes };
    return item;
  });
  built.set(vendor, items);
  return items;
}

/** GET /catalog: any signed request of an active client may read it (it only describes what may
 * be sent). */
export const getCatalogRoute = defineRoute({
  method: "get",
  path: CATALOG_PATH,
  operationId: "getCatalog",
  summary: "Every command type with its payload's JSON Schema (any active client)",
  query: {
    cannot: "Cannot read catalog",
    strict: false,
    params: { module: param(Type.String(), { description: "Only this module, e.g. file" }) },
  },
  responses: { "200": { description: "The catalog, sorted by method", schema: "Catalog" } },
  handle(c: Context<ApiEnv>, { query: { module } }, deps: { vendors: VendorRegistry }) {
    const all = catalogItems(deps.vendors);
    return c.json({ items: module ? all.filter((i) => i.module === module) : all });
  },
});
