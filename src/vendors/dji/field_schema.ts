// Builds a TypeBox schema for a command payload from the catalog's flattened field list: types,
// the fields the reference platform requires, and DJI's documented ranges, enums, lengths and
// item counts. Unknown fields pass at every level (DJI firmware adds fields).
import { type TSchema, Type } from "@sinclair/typebox";
import type { CatalogField } from "./catalog.ts";

interface Node {
  field?: CatalogField;
  children: Map<string, Node>;
  /** The shape of array items when the catalog lists fields below `name[]`. */
  item?: Node;
}

function newNode(): Node {
  return { children: new Map() };
}

/** An enum's keys; an enum_int key as a number (DJI's type) or its digits (DJI's examples). */
function enumSchema(type: CatalogField["type"], keys: readonly string[]): TSchema {
  const numeric = type === "enum_int";
  const literals = keys.flatMap((key) =>
    numeric && /^-?[0-9]+$/.test(key)
      ? [Type.Literal(Number(key)), Type.Literal(key)]
      : [Type.Literal(key)]
  );
  const shown = keys.map((key) => numeric ? key : JSON.stringify(key)).join(", ");
  return Type.Union(literals, { description: `one of ${shown}` });
}

// Only the limits DJI documents: an option left undefined would still be a key of the schema.
function defined(options: Record<string, number | undefined>): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) kept[key] = value;
  return kept;
}

function itemCounts(field: CatalogField): Record<string, number> {
  return defined({ minItems: field.min_items, maxItems: field.max_items });
}

/** Schema for one DJI field's own value (its sub-fields aside), lenient where DJI's material is. */
export function scalarSchema(field: CatalogField): TSchema {
  if (field.enum && (field.type === "enum_int" || field.type === "enum_string")) {
    return enumSchema(field.type, field.enum);
  }
  switch (field.type) {
    case "text":
    case "enum_string":
      return Type.String(defined({ maxLength: field.max_length }));
    case "int":
      return Type.Integer(defined({ minimum: field.minimum, maximum: field.maximum }));
    case "float":
      return Type.Number(defined({ minimum: field.minimum, maximum: field.maximum }));
    case "bool":
      // DJI's tables give bool values as {"0": ..., "1": ...} and the reference platform
      // types flight_safety_advance_check as an integer: both spellings reach devices.
      return Type.Union([Type.Boolean(), Type.Literal(0), Type.Literal(1)], {
        description: "a boolean or 0/1",
      });
    case "enum_int":
      // DJI types log `module` ids as enum_int yet every example sends "0"/"3" (PROTOCOL §3.1).
      return Type.Union([Type.Integer(), Type.String({ pattern: "^-?[0-9]+$" })], {
        description: "an integer or a string of digits",
      });
    case "struct":
      return Type.Object({});
    case "array":
      return Type.Array(
        field.items ? scalarSchema({ path: `${field.path}[]`, type: field.items }) : Type.Unknown(),
        itemCounts(field),
      );
  }
}

function buildTree(fields: readonly CatalogField[]): Node {
  const root = newNode();
  for (const field of fields) {
    let node = root;
    const segments = field.path.split(".");
    segments.forEach((segment, i) => {
      const isItem = segment.endsWith("[]");
      const name = isItem ? segment.slice(0, -2) : segment;
      let child = node.children.get(name);
      if (!child) {
        child = newNode();
        node.children.set(name, child);
      }
      if (i === segments.length - 1) child.field = field;
      if (isItem) {
        child.item ??= newNode();
        node = child.item;
      } else {
        node = child;
      }
    });
  }
  return root;
}

function objectOf(node: Node): TSchema {
  const properties: Record<string, TSchema> = {};
  for (const [name, child] of node.children) {
    const schema = schemaOf(child);
    properties[name] = child.field?.required ? schema : Type.Optional(schema);
  }
  return Type.Object(properties);
}

function schemaOf(node: Node): TSchema {
  const field = node.field;
  if (field?.type === "array") {
    if (node.item && node.item.children.size > 0) {
      return Type.Array(objectOf(node.item), itemCounts(field));
    }
    return scalarSchema(field);
  }
  if (field === undefined || field.type === "struct") {
    // A parent DJI never declared (in_flight_wayline_deliver lists only `file.url`) is an object.
    return node.children.size > 0 || field?.type === "struct" ? objectOf(node) : Type.Unknown();
  }
  if (node.children.size > 0) {
    // DJI lists `multi_dock_task.height` as a float and also gives it sub-fields: accept either.
    return Type.Union([scalarSchema(field), objectOf(node)], {
      description: `${field.type} or an object`,
    });
  }
  return scalarSchema(field);
}

/** The payload schema: an object (never an array or null) whose listed fields are checked. */
export function schemaFromFields(fields: readonly CatalogField[]): TSchema {
  return objectOf(buildTree(fields));
}
