import { sql } from "drizzle-orm";

/**
 * A bound value selected as a named column: how `INSERT … SELECT … WHERE <condition>` writes a row
 * only when a condition holds in the same statement (a cap, a stamp, a guard). Drizzle matches the
 * selected columns to the table's by position, so callers list them in the table's order.
 */
export const literal = <V = unknown>(value: unknown, name: string) => sql<V>`${value}`.as(name);
