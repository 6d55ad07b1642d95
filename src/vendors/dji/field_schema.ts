// Builds a TypeBox schema for a command payload from the catalog's flattened field list.
// Types are checked, nothing is required, and unknown fields pass at every level (DJI firmware adds fields).
import { type TSchema, Type } from "@sinclair/typebox";
import type { CatalogField, FieldType } from "./catalog.ts";

interface Node {
  type?: FieldType;
  items?: FieldType;
  children: Map<string, Node>;
  /** The shape of array items when the catalog lists fields below `name[]`. */
  item?: Node;
}

function newNode(): Node {
  return { children: new Map() };
}

/** Schema for one DJI scalar type, lenient where DJI's own material is. */
export function scalarSchema(type: FieldType): TSchema {
  switch (type) {
    case "text":
    case "enum_string":
      return Type.String();
    case "int":
      return Type.Integer();
    case "float":
      return Type.Number();
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
      return Type.Array(Type.Unknown());
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
      if (i === segments.length - 1) {
        child.type = field.type;
        if (field.items) child.items = field.items;
      }
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
  for (const [name, child] of node.children) properties[name] = Type.Optional(schemaOf(child));
  return Type.Object(properties);
}

function schemaOf(node: Node): TSchema {
  if (node.type === "array") {
    if (node.item && node.item.children.size > 0) return Type.Array(objectOf(node.item));
    return Type.Array(node.items ? scalarSchema(node.items) : Type.Unknown());
  }
  if (node.type === undefined || node.type === "struct") {
    // A parent DJI never declared (in_flight_wayline_deliver lists only `file.url`) is an object.
    return node.children.size > 0 || node.type === "struct" ? objectOf(node) : Type.Unknown();
  }
  if (node.children.size > 0) {
    // DJI lists `multi_dock_task.height` as a float and also gives it sub-fields: accept either.
    return Type.Union([scalarSchema(node.type), objectOf(node)], {
      description: `${node.type} or an object`,
    });
  }
  return scalarSchema(node.type);
}

/** The payload schema: an object (never an array or null) whose listed fields are type-checked. */
export function schemaFromFields(fields: readonly CatalogField[]): TSchema {
  return objectOf(buildTree(fields));
}
