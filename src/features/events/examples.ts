/**
 * An example of an event's `data`, made from the JSON Schema the catalog publishes: what a no-code
 * tool shows as sample fields before the user has any real event of that type. Plausible, not random:
 * the same schema gives the same example, except for the time.
 */
type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function exampleString(schema: Schema, key: string, now: string): string {
  if (schema.format === "date-time") return now;
  if (schema.format === "date") return now.slice(0, 10);
  if (key.endsWith("_id")) return `example_${key}`;
  if (key === "url") return "https://example.com/hook";
  return `Example ${key.replaceAll("_", " ")}`;
}

/** An example of an object's schema: each of its properties filled in (none for a record). */
export function exampleObject(schema: Schema, now: string): Record<string, unknown> {
  const properties = isSchema(schema.properties) ? schema.properties : {};
  return Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [name, exampleOf(property, name, now)]),
  );
}

/** An example value of `schema`, for a field named `key`. */
export function exampleOf(schema: unknown, key: string, now: string): unknown {
  if (!isSchema(schema)) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0] ?? null;
  for (const combinator of ["anyOf", "oneOf"] as const) {
    const options = schema[combinator];
    if (Array.isArray(options)) {
      // The first option that is not null: an example should show the field filled in. When every
      // option is null, none is found, and the example is null, as it would be of the first.
      return exampleOf(
        options.find((o) => !(isSchema(o) && o.type === "null")),
        key,
        now,
      );
    }
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return exampleObject(schema, now);
    case "array":
      return [exampleOf(schema.items, key, now)];
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? Math.max(schema.minimum, 1) : 1;
    case "boolean":
      return true;
    case "string":
      return exampleString(schema, key, now);
    default:
      return null;
  }
}
