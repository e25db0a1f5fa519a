import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { weekdayOf } from "../src/features/analytics/ranges";
import {
  type Counters,
  type RollupAggregate,
  readRollupAggregates,
  readRollups,
  rollupAggregatesQuery,
  sumCounters,
  ZERO_COUNTERS,
} from "../src/features/analytics/rollup-queries";
import { addDays, type LocalDate } from "../src/lib/time";
import { localDateOf } from "./helpers/clock";

const db = createDatabase(env.DB);

/** A small deterministic generator, so the history is the same on every run. */
function seeded(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
}

const SLICES = [
  ["all", ""],
  ["hour", "09"],
  ["hour", "14"],
  ["hour", "23"],
  ["category", "Work"],
  ["category", "Health"],
  ["energy", "low"],
  ["energy", "high"],
] as const;

/** `days` local days of rollups ending yesterday, every slice on most days, random counters. */
async function plantHistory(userId: string, days: number): Promise<{ from: LocalDate; to: LocalDate }> {
  const random = seeded(days);
  const to = addDays(localDateOf(Date.now()), -1);
  const from = addDays(to, 1 - days);
  const keys = Object.keys(ZERO_COUNTERS) as (keyof Counters)[];
  const columns = keys.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  const statements: D1PreparedStatement[] = [];
  // One day before and one after the range: the read must leave them out.
  for (let i = -1; i <= days; i++) {
    const day = addDays(from, i);
    for (const [dim, key] of SLICES) {
      if (random(5) === 0) continue;
      const values = keys.map(() => random(7));
      statements.push(
        env.DB.prepare(
          `INSERT INTO analytics_rollups (user_id, day, dim, key, ${columns.join(", ")}, updated_at)
           VALUES (?, ?, ?, ?, ${columns.map(() => "?").join(", ")}, ?)`,
        ).bind(userId, day, dim, key, ...values, new Date().toISOString()),
      );
    }
  }
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
  return { from, to };
}

/** SQLite's order of text (binary), not the locale's. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What the aggregate read must answer, computed from the day rows in JavaScript. */
async function expectedAggregates(userId: string, from: LocalDate, to: LocalDate) {
  const groups = new Map<string, { dim: string; key: string; weekday: number; rows: Counters[] }>();
  for (const row of await readRollups(db, userId, from, to, ["all", "hour", "category", "energy"])) {
    const weekday = weekdayOf(row.day);
    const id = `${row.dim}|${row.key}|${weekday}`;
    const group = groups.get(id) ?? { dim: row.dim, key: row.key, weekday, rows: [] };
    group.rows.push(row);
    groups.set(id, group);
  }
  return [...groups.values()]
    .map(({ dim, key, weekday, rows }) => ({ dim, key, weekday, days: rows.length, ...sumCounters(rows) }))
    .sort((a, b) => (a.dim !== b.dim ? byText(a.dim, b.dim) : byText(a.key, b.key) || a.weekday - b.weekday));
}

describe("rollups summed per slice and weekday in SQL", () => {
  it("equal the day rows summed by weekday, inside the range only", async () => {
    const userId = crypto.randomUUID();
    const { from, to } = await plantHistory(userId, 60);
    const aggregates = await readRollupAggregates(db, userId, from, to);
    expect(aggregates).toEqual(await expectedAggregates(userId, from, to));
    // Every slice on every weekday at most: a handful of rows for two months of history.
    expect(aggregates.length).toBeLessThanOrEqual(SLICES.length * 7);
    expect(new Set(aggregates.map((a) => a.weekday))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    const typed: RollupAggregate | undefined = aggregates[0];
    expect(typeof typed?.focusSeconds).toBe("number");
  });

  it("keeps to the slices asked for, and answers nothing for a user without history", async () => {
    const userId = crypto.randomUUID();
    const { from, to } = await plantHistory(userId, 21);
    const hours = await readRollupAggregates(db, userId, from, to, ["hour"]);
    expect(new Set(hours.map((a) => `${a.dim}:${a.key}`))).toEqual(
      new Set(["hour:09", "hour:14", "hour:23"]),
    );
    // Three weeks: each weekday holds three days at most.
    expect(Math.max(...hours.map((a) => a.days))).toBeLessThanOrEqual(3);
    const [batched] = await db.batch([rollupAggregatesQuery(db, userId, from, to, ["all"])]);
    expect(batched).toEqual(await readRollupAggregates(db, userId, from, to, ["all"]));
    expect(await readRollupAggregates(db, crypto.randomUUID(), from, to)).toEqual([]);
  });
});
