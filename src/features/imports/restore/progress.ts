/**
 * After a restore the account's totals are what its XP ledger says, never what the file said: the
 * ledger is the record (one row per piece of work, by source key), and the totals — total XP, level,
 * this week's XP, what counts on the boards (at most BOARD_XP_PER_DAY a day) — are derived from it
 * with the gamification feature's own rules. Merging into an account with XP of its own adds the two
 * ledgers, never the same work twice.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { rawStatement } from "../../../lib/batch";
import { nowIso } from "../../../lib/time";
import { levelForXp } from "../../gamification/levels";
import { weekStartOf } from "../../gamification/progress";
import { BOARD_XP_PER_DAY } from "../../gamification/xp";

export interface LedgerTotals {
  total: number;
  week: number;
  board: number;
  boardWeek: number;
  today: string;
  boardToday: number;
}

/** The ledger's totals for the user (one read). */
export async function ledgerTotals(db: Database, userId: string, now: number): Promise<LedgerTotals> {
  const week = weekStartOf(now);
  const today = nowIso(now).slice(0, 10);
  const row = await db.get<{
    total: number;
    week: number;
    board: number;
    board_week: number;
    today: number;
  }>(sql`
    SELECT coalesce(sum(amount), 0) AS total,
      coalesce(sum(CASE WHEN day >= ${week} THEN amount ELSE 0 END), 0) AS week,
      coalesce(sum(min(amount, ${BOARD_XP_PER_DAY})), 0) AS board,
      coalesce(sum(CASE WHEN day >= ${week} THEN min(amount, ${BOARD_XP_PER_DAY}) ELSE 0 END), 0) AS board_week,
      coalesce(sum(CASE WHEN day = ${today} THEN amount ELSE 0 END), 0) AS today
    FROM (SELECT substr(created_at, 1, 10) AS day, sum(amount) AS amount FROM xp_ledger
      WHERE user_id = ${userId} GROUP BY day)`);
  return {
    total: row?.total ?? 0,
    week: row?.week ?? 0,
    board: row?.board ?? 0,
    boardWeek: row?.board_week ?? 0,
    today,
    boardToday: Math.min(row?.today ?? 0, BOARD_XP_PER_DAY),
  };
}

/** The user's progress row set to the ledger's totals (its opt-in and alias kept). */
export function progressFromLedger(db: Database, userId: string, totals: LedgerTotals, now: number) {
  const at = nowIso(now);
  const level = levelForXp(totals.total);
  const week = weekStartOf(now);
  return rawStatement(
    db,
    sql`INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, board_xp, board_week_xp,
        board_day, board_day_xp, version, updated_at)
      VALUES (${userId}, ${totals.total}, ${level}, ${week}, ${totals.week}, ${totals.board}, ${totals.boardWeek},
        ${totals.today}, ${totals.boardToday}, 1, ${at})
      ON CONFLICT (user_id) DO UPDATE SET total_xp = excluded.total_xp, level = excluded.level,
        week_start = excluded.week_start, week_xp = excluded.week_xp, board_xp = excluded.board_xp,
        board_week_xp = excluded.board_week_xp, board_day = excluded.board_day, board_day_xp = excluded.board_day_xp,
        version = user_progress.version + 1, updated_at = excluded.updated_at`,
  );
}
