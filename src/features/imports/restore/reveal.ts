/**
 * The end of a restore, and its undoing. Rows are staged under the import's own owner (meta.ts), so:
 * - a commit point (commitStatements) settles what reads the staging and the account together, the
 *   rows then move to the account a page at a time (move.ts), the restored tasks hidden while they
 *   move, then the account's own tasks the file holds (your backup by its link) take the file's version
 *   a page at a time (own.ts), and a last small batch (revealStatements) shows the restored tasks all
 *   at once — the account shows none of the restored tasks, or all of them (side rows such as ledger
 *   rows appear as they move; your own tasks switch to the file's version at their page);
 * - a discard, or the stale-job sweep giving up (eraseRestoreStatements), deletes the staged rows and
 *   shows again the account's tasks a replace had hidden: the account is exactly as before.
 *
 * Rows whose key the account holds already (a singleton such as notification_preferences, a day of
 * activity_days, an XP source key) meet the account's row when they move: in replace mode the file's
 * row wins (UPDATE OR REPLACE: a replace takes the file as the truth); in merge mode the account's row
 * wins (UPDATE OR IGNORE: a merge adds what is missing and never overwrites what the person has now —
 * settings and counters they changed since are theirs). Either way the XP ledger keeps one row per
 * source key, so no work is paid twice.
 *
 * XP: the totals (total_xp, level, week_xp) are summed from the ledger inside the last batch (a grant
 * landing meanwhile is counted). Restored XP never scores on the boards: board_* and the board opt-in
 * and name stay the account's own (zero and off for an account that had none) — the file's history is
 * the person's, but the boards rank what was earned here, under the daily cap.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { Database } from "../../../db";
import { templateSteps } from "../../../db/schema";
import { rawStatement } from "../../../lib/batch";
import { EXPORTED_TABLES } from "../../export/format";
import { BADGES } from "../../gamification/badges";
import { LEVEL_THRESHOLDS } from "../../gamification/levels";
import { weekStartOf } from "../../gamification/progress";
import { replaceStatements } from "../replace";
import { stagingRange, stagingUserOf } from "./meta";
import { standingStatements } from "./standing";

/** Exported tables that have a `user_id` column, parents first. */
export const OWNED_TABLES: readonly string[] = EXPORTED_TABLES.filter((t) =>
  getTableConfig(t.table).columns.some((c) => c.name === "user_id"),
).map((t) => t.name);

const q = (name: string) => sql.raw(`"${name}"`);

export interface RevealInput {
  userId: string;
  importId: string;
  hiddenAt: string;
  mode: "merge" | "replace";
  /** The pet id the pet's object is planned to keep, when a pet is restored. */
  petId: string | null;
  now: number;
}

/** The account's progress totals from its ledger, board standing and board identity untouched. */
function progressFromLedger(db: Database, userId: string, now: number): BatchItem<"sqlite"> {
  const at = new Date(now).toISOString();
  const week = weekStartOf(now);
  const thresholds = JSON.stringify(LEVEL_THRESHOLDS);
  return rawStatement(
    db,
    sql`INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, version, updated_at)
      SELECT ${userId}, t.total, (SELECT count(*) FROM json_each(${thresholds}) WHERE value <= t.total), ${week}, t.week, 1, ${at}
      FROM (SELECT CAST(total(amount) AS INTEGER) AS total,
              CAST(total(CASE WHEN substr(created_at, 1, 10) >= ${week} THEN amount ELSE 0 END) AS INTEGER) AS week
            FROM xp_ledger WHERE user_id = ${userId}) t WHERE 1
      ON CONFLICT (user_id) DO UPDATE SET total_xp = excluded.total_xp, level = excluded.level,
        board_week_xp = CASE WHEN user_progress.week_start = excluded.week_start THEN user_progress.board_week_xp ELSE 0 END,
        week_start = excluded.week_start, week_xp = excluded.week_xp,
        version = user_progress.version + 1, updated_at = excluded.updated_at`,
  );
}

/** The staged progress row takes the account's board standing and board identity (or none). */
function boardsOfAccount(db: Database, userId: string, staging: string): BatchItem<"sqlite"> {
  const own = (column: string, otherwise: SQL) =>
    sql`coalesce((SELECT ${q(column)} FROM user_progress WHERE user_id = ${userId}), ${otherwise})`;
  return rawStatement(
    db,
    sql`UPDATE user_progress SET board_xp = ${own("board_xp", sql`0`)}, board_week_xp = ${own("board_week_xp", sql`0`)},
      board_day = ${own("board_day", sql`''`)}, board_day_xp = ${own("board_day_xp", sql`0`)},
      week_start = ${own("week_start", sql`week_start`)},
      leaderboard_opt_in = ${own("leaderboard_opt_in", sql`0`)},
      leaderboard_name = (SELECT leaderboard_name FROM user_progress WHERE user_id = ${userId}),
      version = max(version, ${own("version", sql`0`)})
      WHERE user_id = ${staging}`,
  );
}

/**
 * The commit point's statements (after its guard, beside the import row's `$.moving` mark): everything
 * that reads the staging and the account together and does not depend on the move, so the paged move
 * (move.ts) that follows is plain, cannot fail on the data, and only goes forward.
 */
export function commitStatements(db: Database, input: RevealInput): BatchItem<"sqlite">[] {
  const { userId } = input;
  const staging = stagingUserOf(userId, input.importId);
  const out: BatchItem<"sqlite">[] = [];
  // A subtask whose parent is neither restored nor the account's own becomes a top-level task.
  out.push(
    rawStatement(
      db,
      sql`UPDATE tasks SET parent_task_id = NULL WHERE user_id = ${staging} AND parent_task_id IS NOT NULL
        AND parent_task_id NOT IN (SELECT id FROM tasks WHERE user_id IN (${staging}, ${userId}))`,
    ),
  );
  // The pet is its object's (restored after the move, it writes its row itself): interactions take the
  // id it is planned to keep (job.ts finishLive drops them if the object refuses), and the file's pet
  // row is not moved. Nor is the focus settings row (review3 M2): the focus object writes D1 when it
  // restores, so D1 and the object never disagree when it refuses (a session running: 409).
  if (input.petId !== null)
    out.push(
      rawStatement(db, sql`UPDATE pet_interactions SET pet_id = ${input.petId} WHERE user_id = ${staging}`),
    );
  else out.push(rawStatement(db, sql`DELETE FROM pet_interactions WHERE user_id = ${staging}`));
  out.push(rawStatement(db, sql`DELETE FROM user_pets WHERE user_id = ${staging}`));
  out.push(rawStatement(db, sql`DELETE FROM focus_settings WHERE user_id = ${staging}`));
  out.push(boardsOfAccount(db, userId, staging));
  out.push(ledgerWithoutWork(db, userId, staging));
  // The file's counters, streak and badges within their evidence, before they move (standing.ts).
  out.push(...standingStatements(db, userId, staging));
  // The account's own tasks the file holds too take the file's version after the move, a page at a
  // time (own.ts): that work grows with the backup, so it is not done here (review4 H1).
  return out;
}

/**
 * The last batch, once the paged move (move.ts) left only the share cards and the progress row staged: the replace's
 * deletion, the restored tasks shown (all at once: they stayed hidden while they moved), the totals from
 * the ledger, the share cards within the standing, and what did not move erased.
 */
export function revealStatements(db: Database, input: RevealInput): BatchItem<"sqlite">[] {
  const { userId, hiddenAt } = input;
  const staging = stagingUserOf(userId, input.importId);
  const at = new Date(input.now).toISOString();
  const resolution = input.mode === "replace" ? "REPLACE" : "IGNORE";
  const out: BatchItem<"sqlite">[] = [];
  const recorded = sql`(SELECT task_id FROM import_items WHERE import_id = ${input.importId})`;
  if (input.mode === "replace") {
    // The account's tasks the file holds too (write.ts) are kept from the replace's deletion: hidden
    // here, shown again below with the restored ones. The restored tasks are still hidden (moved with
    // `deleted_at` = hiddenAt), so the deletion reaches the account's earlier tasks only.
    out.push(
      rawStatement(
        db,
        sql`UPDATE tasks SET deleted_at = ${hiddenAt} WHERE user_id = ${userId} AND deleted_at IS NULL AND id IN ${recorded}`,
      ),
    );
    // What the deletion below reaches, counted here (review4 L1): tasks made during the move too.
    out.push(
      rawStatement(
        db,
        sql`UPDATE imports SET result = json_set(result, '$.replaced',
            (SELECT count(*) FROM tasks WHERE user_id = ${userId} AND deleted_at IS NULL))
          WHERE id = ${input.importId}`,
      ),
    );
    out.push(...replaceStatements(db, userId, input.now));
  }
  out.push(
    rawStatement(
      db,
      sql`UPDATE tasks SET deleted_at = NULL, updated_at = ${at} WHERE user_id = ${userId} AND deleted_at = ${hiddenAt}`,
    ),
  );
  // Agents' slots are their in-progress assignments (as the agent sweeper counts them): restored
  // agents came in with none (rows.ts), and an assignment whose task was not restored is not there.
  out.push(
    rawStatement(
      db,
      sql`UPDATE agents SET current_task_count = (SELECT count(*) FROM task_assignments a
          WHERE a.user_id = agents.user_id AND a.agent_id = agents.agent_id AND a.status = 'in_progress')
        WHERE user_id = ${userId}`,
    ),
  );
  // The progress row moves here, with the account's board standing as it is now (not as it was at the
  // commit point: the account may have earned XP meanwhile).
  out.push(boardsOfAccount(db, userId, staging));
  out.push(
    rawStatement(
      db,
      sql`UPDATE OR ${sql.raw(resolution)} user_progress SET user_id = ${userId} WHERE user_id = ${staging}`,
    ),
  );
  out.push(progressFromLedger(db, userId, input.now));
  // Share cards move last, once the standing they claim is known.
  out.push(...sharesBeyondStanding(db, input.importId, userId, staging));
  out.push(
    rawStatement(
      db,
      sql`UPDATE OR ${sql.raw(resolution)} social_shares SET user_id = ${userId} WHERE user_id = ${staging}`,
    ),
  );
  // What did not move (a share card the account's row won over) is dropped with the rest of the staging.
  out.push(...eraseStaging(db, staging));
  out.push(rawStatement(db, sql`DELETE FROM import_items WHERE import_id = ${input.importId}`));
  return out;
}

/** A ledger row's work, without its bonus: or pet: prefix (step:<id>, task:<id>, focus:<id>, challenge:…). */
const baseKey = sql.raw(
  "CASE WHEN source_key LIKE 'bonus:%' THEN substr(source_key, 7) WHEN source_key LIKE 'pet:%' THEN substr(source_key, 5) ELSE source_key END",
);

/**
 * Staged ledger rows whose work is neither restored nor the account's are dropped (each row was
 * bounded by its rule already: ledger.ts). Work of any status counts: XP is never taken back when a
 * task is reopened, so an honest ledger names reopened work too, and a file's statuses are its word
 * anyway.
 */
function ledgerWithoutWork(db: Database, userId: string, staging: string): BatchItem<"sqlite"> {
  const owners = sql`(${staging}, ${userId})`;
  return rawStatement(
    db,
    sql`DELETE FROM xp_ledger WHERE rowid IN (SELECT l.rowid FROM (SELECT rowid, ${baseKey} AS base FROM xp_ledger WHERE user_id = ${staging}) l
      WHERE NOT CASE
        WHEN l.base LIKE 'step:%' THEN EXISTS (SELECT 1 FROM micro_steps w WHERE w.id = substr(l.base, 6) AND w.user_id IN ${owners})
        WHEN l.base LIKE 'task:%' THEN EXISTS (SELECT 1 FROM tasks w WHERE w.id = substr(l.base, 6) AND w.user_id IN ${owners})
        WHEN l.base LIKE 'focus:%' THEN EXISTS (SELECT 1 FROM focus_sessions w WHERE w.id = substr(l.base, 7) AND w.user_id IN ${owners})
        WHEN l.base LIKE 'challenge:%' THEN EXISTS (SELECT 1 FROM challenge_progress w WHERE w.challenge_id = substr(l.base, 11)
          AND w.user_id IN ${owners} AND w.completed_at IS NOT NULL)
        ELSE 0 END)`,
  );
}

const BADGE_CARDS = JSON.stringify(
  BADGES.map((b) => ({ id: b.id, name: b.name, description: b.description, tier: b.tier })),
);

/**
 * Staged share cards that claim more than the restored standing are dropped, with a note: a level or
 * XP above the account's, a streak longer than its longest, an achievement for a badge it does not
 * hold or under another name, description or tier than the badge's own.
 */
function sharesBeyondStanding(
  db: Database,
  importId: string,
  userId: string,
  staging: string,
): BatchItem<"sqlite">[] {
  const progress = (column: string) =>
    sql`coalesce((SELECT ${q(column)} FROM user_progress WHERE user_id = ${userId}), 0)`;
  const field = (name: string) => sql.raw(`json_extract(snapshot, '$.${name}')`);
  const beyond = sql`(${field("kind")} = 'level' AND (${field("level")} > ${progress("level")} OR ${field("total_xp")} > ${progress("total_xp")}))
    OR (${field("kind")} = 'streak' AND (${field("longest_days")} > ${progress("longest_streak")} OR ${field("current_days")} > ${progress("longest_streak")}))
    OR (${field("kind")} = 'achievement' AND (
      NOT EXISTS (SELECT 1 FROM user_badges b WHERE b.user_id = ${userId} AND b.badge_id = ${field("badge_id")})
      OR NOT EXISTS (SELECT 1 FROM json_each(${BADGE_CARDS}) d WHERE json_extract(d.value, '$.id') = ${field("badge_id")}
        AND json_extract(d.value, '$.name') = ${field("name")} AND json_extract(d.value, '$.description') = ${field("description")}
        AND json_extract(d.value, '$.tier') = ${field("tier")})))`;
  const dropped = sql`(SELECT count(*) FROM social_shares WHERE user_id = ${staging} AND (${beyond}))`;
  return [
    rawStatement(
      db,
      sql`UPDATE imports SET result = json_set(result, '$.notes[#]',
          printf('%d share card(s) were not restored: they claimed more than the restored level, streak or badges show.', ${dropped}))
        WHERE id = ${importId} AND ${dropped} > 0`,
    ),
    rawStatement(db, sql`DELETE FROM social_shares WHERE user_id = ${staging} AND (${beyond})`),
  ];
}

/** Deletes every staged row (template steps through their staged templates first). */
function eraseStaging(db: Database, staging: string): BatchItem<"sqlite">[] {
  return [
    rawStatement(
      db,
      sql`DELETE FROM template_steps WHERE template_id IN (SELECT id FROM task_templates WHERE user_id = ${staging})`,
    ),
    ...OWNED_TABLES.map((table) => rawStatement(db, sql`DELETE FROM ${q(table)} WHERE user_id = ${staging}`)),
  ];
}

/**
 * Undoes a restore that did not complete: its staged rows deleted, and the account's tasks a replace
 * had hidden (the same ids as the file's) shown again.
 */
export function eraseRestoreStatements(
  db: Database,
  row: { id: string; userId: string; createdAt: string },
): BatchItem<"sqlite">[] {
  return [
    ...eraseStaging(db, stagingUserOf(row.userId, row.id)),
    rawStatement(db, sql`DELETE FROM import_items WHERE import_id = ${row.id}`),
    rawStatement(
      db,
      sql`UPDATE tasks SET deleted_at = NULL WHERE user_id = ${row.userId} AND deleted_at = ${row.createdAt}`,
    ),
  ];
}

/**
 * For the erasure of an account: the DELETEs of what the person's restores staged and never moved (a
 * restore running or failed when the account goes), found by the range of their staging owners
 * (meta.ts stagingRange). Template steps go first (before the templates' phase); the tables' rows with
 * the rest of the person's rows.
 */
export function stagedRowsErasure(db: Database, userId: string) {
  const { from, to } = stagingRange(userId);
  const owned = sql`user_id >= ${from} AND user_id < ${to}`;
  return {
    templateSteps: db
      .delete(templateSteps)
      .where(sql`${templateSteps.templateId} IN (SELECT id FROM task_templates WHERE ${owned})`),
    tables: EXPORTED_TABLES.filter((t) => OWNED_TABLES.includes(t.name)).map((t) => ({
      name: t.name,
      statement: db.delete(t.table).where(owned),
    })),
  };
}
