import { Column, getTableColumns, is, SQL, Subquery, Table } from "drizzle-orm";

/** What a selected field turns a stored value into (a column's or an `sql<T>` expression's decoder). */
interface Decoder {
  mapFromDriverValue(value: unknown): unknown;
}

interface Slot {
  /** Where the value goes in the row object: `task.title` is parents ["task"], key "title". */
  parents: string[];
  key: string;
  decoder: Decoder;
}

// Keyed by the selection object itself: selections are module constants, so this is filled once.
const plans = new WeakMap<object, Slot[]>();

// An `sql<T>` expression keeps its decoder (identity unless `.mapWith` set one) where drizzle's types
// do not show it.
const decoderOfSql = (expression: SQL) => (expression as unknown as { decoder: Decoder }).decoder;

/** The selection's fields in the order drizzle writes them into the SELECT (tables flattened). */
function slotsOf(fields: Record<string, unknown>, prefix: string[]): Slot[] {
  return Object.entries(fields).flatMap(([name, field]): Slot[] => {
    const at = { parents: prefix, key: name };
    if (is(field, Column)) return [{ ...at, decoder: field }];
    if (is(field, SQL)) return [{ ...at, decoder: decoderOfSql(field) }];
    if (is(field, SQL.Aliased)) return [{ ...at, decoder: decoderOfSql(field.sql) }];
    if (is(field, Subquery)) throw new Error("allRows: a subquery as a field is not supported");
    if (is(field, Table)) return slotsOf(getTableColumns(field), [...prefix, name]);
    return slotsOf(field as Record<string, unknown>, [...prefix, name]);
  });
}

function planOf(selection: object): Slot[] {
  const known = plans.get(selection);
  if (known) return known;
  const plan = slotsOf(selection as Record<string, unknown>, []);
  plans.set(selection, plan);
  return plan;
}

/**
 * A select's rows, decoded as drizzle's `.all()` would, from its `.values()` arrays. Drizzle works out
 * each field's decoder again for every value of every row; on a page of 50 tasks that was about a
 * sixth of the task list's CPU (bench/README.md). Here it is worked out once per selection, which
 * must be the object the query selects (`db.select(selection)`); no outer joins (drizzle turns a
 * left-joined table's all-null fields into null, which this does not), and a module constant (its plan
 * is kept while the object lives). A selection of another width is refused; one of the same width and
 * other fields is not caught here, so callers are tested against drizzle's `.all()` (tests/db-rows).
 */
export async function allRows<R>(
  query: { all(): Promise<R[]>; values(): Promise<unknown[][]> },
  selection: object,
): Promise<R[]> {
  const plan = planOf(selection);
  const raw = await query.values();
  const rows: R[] = [];
  for (const values of raw) {
    if (values.length !== plan.length) {
      throw new Error(
        `allRows: the query returned ${values.length} columns, its selection has ${plan.length}`,
      );
    }
    const row: Record<string, unknown> = {};
    for (let i = 0; i < plan.length; i += 1) {
      const { parents, key, decoder } = plan[i] as Slot;
      const value = values[i];
      let node = row;
      for (const parent of parents) {
        node[parent] ??= {};
        node = node[parent] as Record<string, unknown>;
      }
      node[key] = value === null || value === undefined ? null : decoder.mapFromDriverValue(value);
    }
    rows.push(row as R);
  }
  return rows;
}
