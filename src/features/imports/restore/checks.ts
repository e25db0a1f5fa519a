/**
 * The preflight of one exported row beyond its shape (rowSchema): everything the database would
 * refuse, so a file that passes the check cannot fail the write on its data (review items 2, 5, 6, 10):
 * the tables' CHECK constraints (read from the schema itself, so a check added later is enforced at
 * once — or, if it is of a form this reader does not know, a unit test fails), JSON columns that parse
 * (and a share's snapshot that matches the social feature's SnapshotSchema), a row no bigger than D1
 * stores, and the same keys on every row of a table (a writer inserts one column list per table).
 */
import { getTableConfig, SQLiteSyncDialect, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { exportedTable } from "../../export/format";
import { utf8Length } from "../../export/reader";
import { SnapshotSchema } from "../../social/snapshot";
import { fieldProblem } from "./fields";

/** D1 stores rows up to 2,000,000 bytes; a margin for the JSON around a value. */
export const MAX_ROW_BYTES = 1_900_000;

type Rule = { column: string; test: (value: unknown) => boolean; text: string };

const dialect = new SQLiteSyncDialect();
const COLUMN = String.raw`(?:"\w+"\.)?"(\w+)"`;
const IN_LIST = new RegExp(String.raw`^\(?${COLUMN} IN \((.+)\)\)?$`);
const BETWEEN = new RegExp(String.raw`^\(?${COLUMN} BETWEEN (-?\d+(?:\.\d+)?) AND (-?\d+(?:\.\d+)?)\)?$`);

/** A CHECK's rule, or null when its form is not one this reader knows (a unit test lists them). */
export function ruleOf(checkSql: string): Rule | null {
  const text = checkSql.trim();
  const list = IN_LIST.exec(text);
  if (list) {
    const values = (list[2] as string).split(",").map((v) => v.trim());
    if (!values.every((v) => /^'[^']*'$/.test(v))) return null;
    const allowed = new Set(values.map((v) => v.slice(1, -1)));
    return {
      column: list[1] as string,
      test: (value) => typeof value === "string" && allowed.has(value),
      text,
    };
  }
  const between = BETWEEN.exec(text);
  if (between) {
    const low = Number(between[2]);
    const high = Number(between[3]);
    return {
      column: between[1] as string,
      test: (value) => typeof value === "number" && value >= low && value <= high,
      text,
    };
  }
  return null;
}

/** The SQL text of each CHECK of a table. */
export function checksOf(table: SQLiteTable): { name: string; sql: string }[] {
  return getTableConfig(table).checks.map((c) => ({ name: c.name, sql: dialect.sqlToQuery(c.value).sql }));
}

interface TableRules {
  rules: Rule[];
  json: string[];
}

const cache = new Map<string, TableRules>();

function rulesOf(name: string): TableRules {
  const cached = cache.get(name);
  if (cached) return cached;
  const spec = exportedTable(name);
  const rules: Rule[] = [];
  const json: string[] = [];
  if (spec) {
    for (const check of checksOf(spec.table)) {
      const rule = ruleOf(check.sql);
      // Unknown forms are listed by the unit test (checks.test.ts): none may exist on an exported table.
      if (rule) rules.push(rule);
    }
    for (const column of getTableConfig(spec.table).columns) {
      if (column.columnType === "SQLiteTextJson" || column.columnType === "SQLiteBlobJson")
        json.push(column.name);
    }
  }
  const built = { rules, json };
  cache.set(name, built);
  return built;
}

/** What is wrong with a row (already of its table's shape), as a sentence; null when it can be written. */
export function rowProblem(table: string, row: Record<string, unknown>): string | null {
  const { rules, json } = rulesOf(table);
  for (const rule of rules) {
    const value = row[rule.column];
    // SQL: a CHECK on NULL passes (NOT NULL is the shape's business).
    if (value === null || value === undefined) continue;
    if (!rule.test(value)) return `${rule.column} breaks the table's rule ${rule.text}`;
  }
  for (const column of json) {
    const value = row[column];
    if (typeof value !== "string") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return `${column} is not JSON`;
    }
    if (table === "social_shares" && column === "snapshot" && !SnapshotSchema.safeParse(parsed).success)
      return "snapshot is not a share card's snapshot";
  }
  // What the API itself would refuse (review3 M3): formats, lengths, JSON columns' shapes.
  return fieldProblem(table, row);
}

/** The row's size as stored, roughly: the UTF-8 bytes of its JSON. */
export function rowBytes(row: Record<string, unknown>): number {
  const text = JSON.stringify(row);
  return utf8Length(text, 0, text.length);
}

/** The key set of a row, as one string (rows of one table must all have the same). */
export const keysOf = (row: Record<string, unknown>) => Object.keys(row).sort().join(",");

type Kind = "int" | "number" | "text";

interface ColumnRule {
  kind: Kind;
  values: Set<string> | null;
  nullable: boolean;
}

interface ShapeRule {
  columns: Map<string, ColumnRule>;
  required: string[];
}

const shapes = new Map<string, ShapeRule>();

function shapeOf(table: string): ShapeRule | null {
  const cached = shapes.get(table);
  if (cached) return cached;
  const spec = exportedTable(table);
  if (!spec) return null;
  const omit = spec.omit ?? [];
  const columns = new Map<string, ColumnRule>();
  const required: string[] = [];
  for (const column of getTableConfig(spec.table).columns) {
    if (omit.includes(column.name)) continue;
    const type = column.columnType;
    const kind: Kind =
      type === "SQLiteInteger" || type === "SQLiteBoolean" || type === "SQLiteTimestamp"
        ? "int"
        : type === "SQLiteReal"
          ? "number"
          : "text";
    const enumValues = (column as { enumValues?: string[] }).enumValues;
    columns.set(column.name, {
      kind,
      values: kind === "text" && enumValues && enumValues.length > 0 ? new Set(enumValues) : null,
      nullable: !column.notNull,
    });
    if (column.notNull && !column.hasDefault) required.push(column.name);
  }
  const built = { columns, required };
  shapes.set(table, built);
  return built;
}

/**
 * Whether a parsed row has its table's shape: exactly what rowSchema (export/format.ts) accepts —
 * known columns only, required ones present, types, enums, NULL only where allowed — in a plain loop
 * (a few microseconds a row, where the zod schema takes tens). A caller asks rowSchema why when this
 * says no.
 */
export function hasRowShape(table: string, value: unknown): value is Record<string, unknown> {
  const shape = shapeOf(table);
  if (!shape || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const row = value as Record<string, unknown>;
  for (const key in row) {
    if (!Object.hasOwn(row, key)) continue;
    const rule = shape.columns.get(key);
    if (!rule) return false;
    const v = row[key];
    if (v === null) {
      if (!rule.nullable) return false;
      continue;
    }
    if (rule.kind === "text") {
      if (typeof v !== "string" || (rule.values !== null && !rule.values.has(v))) return false;
    } else if (
      typeof v !== "number" ||
      !Number.isFinite(v) ||
      (rule.kind === "int" && !Number.isSafeInteger(v))
    ) {
      return false;
    }
  }
  for (const key of shape.required) if (!Object.hasOwn(row, key)) return false;
  return true;
}
