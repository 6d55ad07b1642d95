// Generates src/vendors/dji/catalog_data.ts from the DJI reference material in ../shared/dji.
// Run from the repo root: `npx tsx tools/gen_dji_catalog.ts [reference_dir]`. The product never reads ../shared.
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { argv } from "node:process";
import { pathToFileURL } from "node:url";

type FieldType =
  | "text"
  | "int"
  | "float"
  | "bool"
  | "enum_int"
  | "enum_string"
  | "struct"
  | "array";

interface Field {
  path: string;
  type: FieldType;
  items?: FieldType;
  enum?: string[];
  required?: true;
  minimum?: number;
  maximum?: number;
  max_length?: number;
  min_items?: number;
  max_items?: number;
}

interface Entry {
  method: string;
  module: string;
  channel: "services" | "drc";
  summary: string;
  fields: Field[];
  secret_fields: string[];
  progress_event?: string;
  devices: string[];
}

interface ServicesMethod {
  method: string;
  module: string;
  summary: string;
  payload: Record<string, string>;
  devices: string[];
  progress_event: string | null;
}

interface ReferenceField {
  name: string;
  type: string;
  required: boolean;
  description?: string;
  description_en_from_zh_comment?: string;
}

interface ReferenceCommand {
  module: string;
  command_type: string;
  payload: ReferenceField[];
}

// The reference platform lists these under "drc"; they travel on drc/down, not services.
const DRC_DOWN_METHODS = [
  "drone_control",
  "stick_control",
  "drone_emergency_stop",
  "heart_beat",
];

// flight_areas_get is in the reference list, but the dock sends it to the cloud on
// `requests` (PROTOCOL §1, §2.4): it is a device→cloud request, not a command.
const NOT_COMMANDS = ["flight_areas_get"];

// Short summaries for the DRC methods, which the reference list does not summarise.
const DRC_SUMMARIES: Record<string, string> = {
  drone_control: "DRC: fly the aircraft by velocity (x, y, h, w) with a sequence number.",
  stick_control:
    "DRC: virtual sticks (roll, pitch, throttle, yaw channels 364-1684, 1024 neutral).",
  drone_emergency_stop: "DRC: emergency brake; the aircraft stops and hovers.",
  heart_beat: "DRC: keep-alive; the device leaves DRC after about a minute without one.",
};

// services.json groups methods by DJI doc page; the seed's title groups by the reference
// platform's modules ("DJI Services · file · fileupload_start"). Methods the reference list
// names keep its module; the others get the one their DJI group maps to.
const MODULE_BY_DJI_GROUP: Record<string, string> = {
  "remote-debug (cmd)": "device",
  "remote-debug (job)": "device",
  "payload-control (camera/gimbal)": "camera",
  "remote-control (DRC camera, Dock 2)": "camera",
  "drc / flight-control": "drc",
  "pilot cloud-control authorization": "drc",
  "wayline": "wayline",
  "wayline (in-flight / virtual cockpit)": "wayline",
  "live": "live",
  "log (remote log)": "file",
  "media": "file",
  "firmware": "firmware",
  "custom-flight-area": "safety",
  "offline-map": "safety",
  "flysafe (unlock licenses)": "safety",
  "psdk": "psdk",
  "psdk-interconnection": "psdk",
  "esdk-interconnection": "psdk",
};

const REFERENCE_TYPES: Record<string, FieldType> = {
  string: "text",
  integer: "int",
  number: "float",
  boolean: "bool",
  object: "struct",
  array: "array",
};

// A field holds a secret when its own name says so (DESIGN §2: secrets never stored in clear).
const SECRET_NAME = /secret|password|token/i;

function fieldType(word: string, where: string): FieldType {
  switch (word) {
    case "text":
    case "int":
    case "float":
    case "bool":
    case "enum_int":
    case "enum_string":
    case "struct":
    case "array":
      return word;
    case "double":
      return "float"; // same JSON number; one name keeps consumers simple
    default:
      throw new Error(`Cannot map DJI type "${word}" at ${where}`);
  }
}

// DJI's table is cut short ("...") for these enums, so their keys cannot all be read from it;
// the reference platform's descriptions of the same fields give the whole set.
const ENUM_COMPLETIONS: Record<string, string[]> = {
  // "Air conditioner mode: 0=idle, 1=cooling, 2=heating, 3=dehumidify"
  "air_conditioner_mode_switch.action": ["0", "1", "2", "3"],
  // "Exposure value: 1=-5.0EV, 2=-4.7EV, ..., 16=0EV, ..., 31=5.0EV, 255=FIXED" (thirds of a stop)
  "camera_exposure_set.exposure_value": [
    ...Array.from({ length: 31 }, (_, i) => String(i + 1)),
    "255",
  ],
};

// Documented limits the generator read but cannot enforce, printed on every run so that what
// is left out is seen, not lost.
const notEnforced: string[] = [];

// Enum specs come in several shapes: JSON (sometimes truncated), `{1: manual calibration}`,
// `{0 RTH,1 hover,2 land}`. Only the keys are kept.
function enumKeys(spec: string): string[] | undefined {
  const open = spec.indexOf("{");
  if (open < 0) return undefined;
  const body = spec.slice(open);
  const keys = body.includes('":')
    ? [...body.matchAll(/"([^"]*)"\s*:/g)].map((m) => m[1]!)
    : body.replace(/[{}]/g, "").split(",").map((part) => part.trim().split(/[:\s]/)[0]!)
      .filter((k) => k.length > 0);
  return keys.length > 0 ? keys : undefined;
}

/** The `"key": value` pairs of a spec's constraint object, values as written (quotes removed). */
function specValues(spec: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const m of spec.matchAll(/"([a-z_]+)"\s*:\s*(?:"([^"]*)"|([^,}\s]*))/g)) {
    values.set(m[1]!, (m[2] ?? m[3] ?? "").trim());
  }
  return values;
}

// "90", "-90.0", 1500: a number. "Subject to the maximum POI speed ..." is not, and is reported.
function numberIn(value: string | undefined, what: string, where: string): number | undefined {
  if (value === undefined || value === "" || value === "-") return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  notEnforced.push(`${where}: ${what} "${value}" is not a number`);
  return undefined;
}

// Ranges, lengths and sizes as DJI writes them: `{"max":15,"min":0}`, `{"size": 2, ...}`,
// `{"length":"Less than 256"}`, or loosely `int 20-1500 m`.
function addLimits(field: Field, rest: string, where: string): void {
  const values = specValues(rest);
  if (field.type === "int" || field.type === "float") {
    const loose = /^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)\b/.exec(rest);
    const minimum = numberIn(values.get("min") ?? loose?.[1], "min", where);
    const maximum = numberIn(values.get("max") ?? loose?.[2], "max", where);
    if (minimum !== undefined) field.minimum = minimum;
    if (maximum !== undefined) field.maximum = maximum;
    // `{"length":13}` on a millisecond timestamp counts digits; it is a format, not a range.
    if (values.has("length")) {
      notEnforced.push(`${where}: length ${values.get("length")} (digits of a timestamp)`);
    }
  }
  if (field.type === "text") {
    const length = values.get("length");
    const lessThan = length ? /^Less than (\d+)$/i.exec(length) : null;
    const max = lessThan ? Number(lessThan[1]) - 1 : numberIn(length, "length", where);
    if (max !== undefined) field.max_length = max;
  }
  if (field.type === "array") {
    const size = numberIn(values.get("size"), "size", where);
    // A size is an upper bound: ota_create's `"size": 2` also upgrades a single device.
    if (size !== undefined) field.max_items = size;
  }
}

// "List of flyto target points. Only supports 1 target point": exactly that many items.
function addCountFromText(field: Field, text: string): void {
  const only = /(?:only supports|supports only) (\d+)\b/i.exec(text);
  if (field.type === "array" && only) {
    field.min_items = Number(only[1]);
    field.max_items = Number(only[1]);
  }
}

function parseServicesField(path: string, description: string, where: string): Field {
  const [head, ...tail] = description.split(" — ");
  const spec = head!.trim();
  const word = spec.split(/\s+/)[0]!;
  const rest = spec.slice(word.length).trim();
  const type = fieldType(word, where);
  const field: Field = { path, type };
  if (type === "array") {
    const item = /item_type"?\s*:\s*([a-z_]+)/.exec(spec) ?? /array of ([a-z_]+)/.exec(spec);
    if (item) field.items = fieldType(item[1]!, `${where} items`);
  }
  if (type === "enum_int" || type === "enum_string") {
    const keys = enumKeys(rest);
    if (rest.endsWith("...")) {
      // Keys past the cut would be refused: only a known complete set is enforced.
      const complete = ENUM_COMPLETIONS[where];
      if (!complete) throw new Error(`Enum of ${where} is truncated and has no completion`);
      const missing = (keys ?? []).filter((k) => !complete.includes(k));
      if (missing.length > 0) throw new Error(`Completion of ${where} lacks ${missing.join(", ")}`);
      field.enum = complete;
    } else if (keys) {
      field.enum = keys;
    }
  } else {
    addLimits(field, rest, where);
  }
  addCountFromText(field, tail.join(" — "));
  return field;
}

function secretFields(fields: Field[]): string[] {
  return fields
    .filter((f) => SECRET_NAME.test(f.path.split(".").at(-1)!))
    .map((f) => f.path);
}

// "dock2 (v1.15)" → "dock2", "rc_pro(pilot2)" → "rc_pro": ids, not notes.
function deviceId(device: string): string {
  return device.replace(/\s*\(.*\)\s*$/, "").trim();
}

// "flighttask_progress (status paused; ...) [inferred]" → "flighttask_progress".
function progressEvent(text: string | null): string | undefined {
  if (!text) return undefined;
  return /^[a-z0-9_]+/.exec(text)?.[0];
}

// Reference types that a DJI type of the same field already covers (DJI's enum_int and bool
// are JSON integers too); any other pairing is printed, and DJI's more detailed type is kept.
const COMPATIBLE: Record<string, FieldType[]> = {
  string: ["text", "enum_string"],
  integer: ["int", "enum_int", "bool"],
  number: ["float", "int"],
  boolean: ["bool"],
  object: ["struct"],
  array: ["array"],
};

const conflicts: string[] = [];

function referenceType(p: ReferenceField, where: string): FieldType {
  const type = REFERENCE_TYPES[p.type];
  if (!type) throw new Error(`Cannot map reference type "${p.type}" at ${where}`);
  return type;
}

// The reference platform's pages say which top-level fields a caller must send; a field they
// list that DJI's table lacks is added with the reference's type, so it is checked the same way.
function mergeReference(method: string, fields: Field[], r: ReferenceCommand | undefined): void {
  for (const p of r?.payload ?? []) {
    const where = `${method}.${p.name}`;
    let field = fields.find((f) => f.path === p.name);
    if (!field) {
      field = { path: p.name, type: referenceType(p, where) };
      fields.push(field);
      conflicts.push(`${where}: only on the reference platform (${p.type})`);
    } else if (!COMPATIBLE[p.type]?.includes(field.type)) {
      conflicts.push(`${where}: reference says ${p.type}, DJI says ${field.type}; DJI's kept`);
    }
    if (p.required) field.required = true;
  }
}

function fromServices(s: ServicesMethod, reference: Map<string, ReferenceCommand>): Entry {
  const fields = Object.entries(s.payload).map(([path, description]) =>
    parseServicesField(path, description, `${s.method}.${path}`)
  );
  mergeReference(s.method, fields, reference.get(s.method));
  const module = reference.get(s.method)?.module ?? MODULE_BY_DJI_GROUP[s.module];
  if (!module) throw new Error(`No module mapping for DJI group "${s.module}" (${s.method})`);
  const entry: Entry = {
    method: s.method,
    module,
    channel: "services",
    summary: s.summary,
    fields,
    secret_fields: secretFields(fields),
    devices: [...new Set(s.devices.map(deviceId))],
  };
  const progress = progressEvent(s.progress_event);
  if (progress) entry.progress_event = progress;
  return entry;
}

// DJI's services table has no DRC methods, so their ranges come from the reference's words:
// "Forward/backward speed (-17 to 17 m/s)", "Roll channel 364-1684; 1024 neutral".
function referenceRange(p: ReferenceField): { minimum: number; maximum: number } | undefined {
  const text = `${p.description ?? ""} ${p.description_en_from_zh_comment ?? ""}`;
  const m = /(-?\d+(?:\.\d+)?)\s*(?:to|-)\s*(-?\d+(?:\.\d+)?)/.exec(text);
  return m ? { minimum: Number(m[1]), maximum: Number(m[2]) } : undefined;
}

function fromReferenceDrc(r: ReferenceCommand, devices: string[]): Entry {
  const fields = r.payload.map((p) => {
    const field: Field = { path: p.name, type: referenceType(p, `${r.command_type}.${p.name}`) };
    if (p.required) field.required = true;
    const range = field.type === "int" || field.type === "float" ? referenceRange(p) : undefined;
    if (range) Object.assign(field, range);
    return field;
  });
  return {
    method: r.command_type,
    module: "drc",
    channel: "drc",
    summary: DRC_SUMMARIES[r.command_type]!,
    fields,
    secret_fields: secretFields(fields),
    devices,
  };
}

function buildCatalog(services: ServicesMethod[], referenceList: ReferenceCommand[]): Entry[] {
  const reference = new Map(referenceList.map((r) => [r.command_type, r]));
  const entries = services.map((s) => fromServices(s, reference));
  // DRC links are opened with drc_mode_enter, so its devices are the ones that speak DRC.
  const drcDevices = entries.find((e) => e.method === "drc_mode_enter")?.devices ?? [];
  for (const method of DRC_DOWN_METHODS) {
    const r = reference.get(method);
    if (!r || r.module !== "drc") throw new Error(`Reference list lacks DRC method ${method}`);
    entries.push(fromReferenceDrc(r, drcDevices));
  }
  // A reference command that is none of the above would otherwise vanish silently.
  const known = new Set([...entries.map((e) => e.method), ...NOT_COMMANDS]);
  const unplaced = referenceList.filter((r) => !known.has(r.command_type));
  if (unplaced.length > 0) {
    throw new Error(
      `Reference commands not placed: ${unplaced.map((r) => r.command_type).join(", ")}`,
    );
  }
  if (new Set(entries.map((e) => e.method)).size !== entries.length) {
    throw new Error("Duplicate method in catalog");
  }
  return entries.sort((a, b) => a.method < b.method ? -1 : 1);
}

function renderField(f: Field): string {
  const parts = [`path: ${JSON.stringify(f.path)}`, `type: ${JSON.stringify(f.type)}`];
  if (f.items) parts.push(`items: ${JSON.stringify(f.items)}`);
  if (f.enum) parts.push(`enum: ${JSON.stringify(f.enum).replaceAll(",", ", ")}`);
  if (f.required) parts.push("required: true");
  for (const key of ["minimum", "maximum", "max_length", "min_items", "max_items"] as const) {
    if (f[key] !== undefined) parts.push(`${key}: ${f[key]}`);
  }
  return `      { ${parts.join(", ")} },`;
}

function renderList(values: string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
}

function renderEntry(e: Entry): string {
  const lines = [
    "  {",
    `    method: ${JSON.stringify(e.method)},`,
    `    module: ${JSON.stringify(e.module)},`,
    `    channel: ${JSON.stringify(e.channel)},`,
    `    summary: ${JSON.stringify(e.summary)},`,
    e.fields.length === 0
      ? "    fields: [],"
      : ["    fields: [", ...e.fields.map(renderField), "    ],"]
        .join("\n"),
    `    secret_fields: ${renderList(e.secret_fields)},`,
  ];
  if (e.progress_event) lines.push(`    progress_event: ${JSON.stringify(e.progress_event)},`);
  lines.push(`    devices: ${renderList(e.devices)},`, "  },");
  return lines.join("\n");
}

function render(entries: Entry[]): string {
  return [
    "// GENERATED by tools/gen_dji_catalog.ts from shared/dji/services.json and",
    "// reference-platform-commands.json. Do not edit; change the generator and re-run it.",
    "// flight_areas_get is left out on purpose: it is a device→cloud request, not a command.",
    'import type { CatalogEntry } from "../vendor_adapter.ts";',
    "",
    "export const DJI_COMMANDS = [",
    ...entries.map(renderEntry),
    "] as const satisfies readonly CatalogEntry[];",
    "",
  ].join("\n");
}

async function readJson<T>(url: URL): Promise<T> {
  return JSON.parse(await readFile(url, "utf8")) as T;
}

const referenceDir = argv[2]
  ? pathToFileURL(`${resolve(argv[2])}/`)
  : new URL("../../shared/dji/", import.meta.url);
const services = await readJson<ServicesMethod[]>(new URL("services.json", referenceDir));
const reference = await readJson<ReferenceCommand[]>(
  new URL("reference-platform-commands.json", referenceDir),
);
const entries = buildCatalog(services, reference);
const out = new URL("../src/vendors/dji/catalog_data.ts", import.meta.url);
await writeFile(out, render(entries));
console.log(
  `Wrote ${entries.length} commands (${
    entries.filter((e) => e.channel === "drc").length
  } drc) to ${out.pathname}`,
);
const count = (has: (f: Field) => boolean) => entries.filter((e) => e.fields.some(has)).length;
console.log(
  `Methods with required fields: ${count((f) => f.required === true)}, ranges: ${
    count((f) => f.minimum !== undefined || f.maximum !== undefined)
  }, enums: ${count((f) => f.enum !== undefined)}, lengths: ${
    count((f) => f.max_length !== undefined)
  }, item counts: ${count((f) => f.min_items !== undefined || f.max_items !== undefined)}`,
);
for (const line of conflicts) console.log(`reference vs DJI: ${line}`);
for (const line of notEnforced) console.log(`not enforced: ${line}`);
