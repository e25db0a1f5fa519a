/**
 * What deleting an account removes from D1, as steps run in three phases (src/features/account/erase-run.ts
 * runs them a bounded number of rows at a time): first the rows found through the person's own rows
 * and the other people's rows that name them, then every table by `user_id`, then the account itself.
 * Each step is set-based and safe to repeat, so a deletion that stopped halfway simply runs again.
 *
 * Every table whose rows carry `user_id` is erased by it, found in the schema itself: a table added
 * later is covered the day it exists. A table without that column must say here how its rows of the
 * person go, or why it holds none; `unclassifiedTables` names any that does not (a test keeps it empty).
 */
import { eq, getTableName, inArray, is, sql } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../../db";
import * as schema from "../../db/schema";
import { throttleKeys } from "../auth/throttle";
import { stagedRowsErasure } from "../imports/restore/reveal";
import { deleteSharesStatements, forgetImporterStatements } from "../templates/share-queries";

/** What stands in for an erased administrator where platform records named them. */
export const ERASED_ACCOUNT = "erased-account";

export interface ErasedAccount {
  id: string;
  /** Empty when it is no longer known (the account's row went before a late sweep). */
  email: string;
  /** Whether the account ever held an administrator's token (then its id may sit in others' rows). */
  wasAdmin: boolean;
}

/** A statement of the plan: any drizzle query (it is run as its SQL text). */
export interface PlanStatement {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * One step: a single DELETE that may match many rows (`chunked`: run a bounded number of rows at a
 * time until none is left), or statements that must run together once, in one transaction.
 */
export interface EraseStep {
  statements: readonly [PlanStatement, ...PlanStatement[]];
  chunked: boolean;
}

/** The phases, in order; each finishes before the next begins. */
export type ErasePlan = readonly (readonly EraseStep[])[];

type Rule = (db: Database, account: ErasedAccount) => EraseStep[];

const inChunks = (statement: PlanStatement): EraseStep => ({ statements: [statement], chunked: true });
const together = (first: PlanStatement, ...rest: PlanStatement[]): EraseStep => ({
  statements: [first, ...rest],
  chunked: false,
});

/** The ids of the person's own templates (built-ins have no owner). */
const ownTemplateIds = (db: Database, userId: string) =>
  db
    .select({ id: schema.taskTemplates.id })
    .from(schema.taskTemplates)
    .where(eq(schema.taskTemplates.userId, userId));

/** Tables without `user_id`, and how the person's rows in them are erased (empty: they hold none). */
const WITHOUT_USER_ID: Record<string, Rule> = {
  // The account itself goes last, after everything that points at it.
  users: () => [],
  // The steps of the person's own templates.
  template_steps: (db, a) => [
    inChunks(
      db
        .delete(schema.templateSteps)
        .where(inArray(schema.templateSteps.templateId, ownTemplateIds(db, a.id))),
    ),
  ],
  // Which handlers ran for the person's events: keyed by event id.
  event_receipts: (db, a) => [
    inChunks(
      db
        .delete(schema.eventReceipts)
        .where(
          inArray(
            schema.eventReceipts.eventId,
            db.select({ id: schema.events.id }).from(schema.events).where(eq(schema.events.userId, a.id)),
          ),
        ),
    ),
  ],
  // Failed sign-ins are counted under the email too (the address's count is not the person's).
  login_throttles: (db, a) =>
    a.email
      ? [
          together(
            db
              .delete(schema.loginThrottles)
              .where(eq(schema.loginThrottles.key, throttleKeys(a.email, "").account)),
          ),
        ]
      : [],
  // Bonus XP windows are the platform's; the administrator who opened one is no longer named.
  bonus_events: (db, a) => [
    together(
      db
        .update(schema.bonusEvents)
        .set({ createdBy: ERASED_ACCOUNT })
        .where(eq(schema.bonusEvents.createdBy, a.id)),
    ),
  ],
  // Badge definitions and the level curve: the platform's, nobody's.
  badges: () => [],
  xp_levels: () => [],
  // Never holds a row (src/lib/batch.ts).
  batch_guards: () => [],
  // Never holds a row (src/db/account-guard.ts).
  account_guards: () => [],
  // Operational: per-route counts and statement texts (placeholders only), no user id.
  route_metrics: () => [],
  slow_queries: () => [],
  // Shared by their members; the person's memberships go by `user_id`, and a room left empty closes
  // by itself (its FocusRoom object hears of the erasure and drops the member's live state).
  rooms: () => [],
};

/** Tables with `user_id` erased otherwise than by it: `first` in the first phase, `byOwner` beside the others. */
const INSTEAD_OF_USER_ID: Record<string, { first?: Rule; byOwner?: Rule }> = {
  template_share_uses: {
    first: (db, a) => [
      // Others' records of importing the person's templates (the templates and their codes go too).
      ...deleteSharesStatements(db, ownTemplateIds(db, a.id)).map(inChunks),
      // The person's own imports: the templates they imported count them no more.
      together(...forgetImporterStatements(db, a.id)),
    ],
  },
  // Letters the person owns; and, among letters whose body names no owner, those that mention them.
  // Another person's letter that merely mentions them is that person's.
  dead_letters: {
    byOwner: (db, a) => [
      inChunks(db.delete(schema.deadLetters).where(eq(schema.deadLetters.userId, a.id))),
      inChunks(
        db.delete(schema.deadLetters).where(
          sql`${schema.deadLetters.userId} IS NULL
              AND CASE WHEN json_valid(${schema.deadLetters.body})
                THEN json_extract(${schema.deadLetters.body}, '$.user_id') IS NULL ELSE 1 END
              AND instr(${schema.deadLetters.body}, ${a.id}) > 0`,
        ),
      ),
    ],
  },
};

/** Tables with `user_id` whose other people's rows may name the person too (first phase). */
const BESIDES_USER_ID: Record<string, Rule> = {
  // A restore stages the person's rows under its own owner until it completes (imports/restore): the
  // steps of its staged templates go before the templates (their rows go with the person's, below).
  imports: (db, a) => [together(stagedRowsErasure(db, a.id).templateSteps)],
  // Someone else's XP granted by this administrator: the grant stays theirs, the granter is not named.
  events: (db, a) =>
    a.wasAdmin
      ? [
          together(
            db
              .update(schema.events)
              .set({ data: sql`json_set(${schema.events.data}, '$.granted_by', ${ERASED_ACCOUNT})` })
              .where(
                sql`${schema.events.type} = 'xp.manual' AND json_extract(${schema.events.data}, '$.granted_by') = ${a.id}`,
              ),
          ),
        ]
      : [],
};

const tables: SQLiteTable[] = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable =>
  is(value, SQLiteTable),
);

const userIdColumn = (table: SQLiteTable) =>
  getTableConfig(table).columns.find((column) => column.name === "user_id");

/** Tables that hold rows of people but neither carry `user_id` nor are named in WITHOUT_USER_ID. */
export function unclassifiedTables(): string[] {
  return tables
    .filter((table) => !userIdColumn(table) && !(getTableName(table) in WITHOUT_USER_ID))
    .map((table) => getTableName(table));
}

/**
 * The plan that erases the account: rows found through the person's own rows (template steps, event
 * receipts, imports of their templates) and others' rows naming them first, then every table by
 * `user_id`, then the account.
 */
export function erasePlan(db: Database, account: ErasedAccount): ErasePlan {
  const unclassified = unclassifiedTables();
  if (unclassified.length > 0) {
    throw new Error(`No erasure rule for ${unclassified.join(", ")} (src/features/account/erase-plan.ts)`);
  }
  const first: EraseStep[] = [];
  const byOwner: EraseStep[] = [];
  const stagedTables = new Map(
    stagedRowsErasure(db, account.id).tables.map((t) => [t.name, t.statement] as const),
  );
  for (const table of tables) {
    const name = getTableName(table);
    const column = userIdColumn(table);
    if (!column) {
      first.push(...(WITHOUT_USER_ID[name]?.(db, account) ?? []));
      continue;
    }
    first.push(...(BESIDES_USER_ID[name]?.(db, account) ?? []));
    const instead = INSTEAD_OF_USER_ID[name];
    if (instead) {
      first.push(...(instead.first?.(db, account) ?? []));
      byOwner.push(...(instead.byOwner?.(db, account) ?? []));
    } else {
      byOwner.push(inChunks(db.delete(table).where(sql`${column} = ${account.id}`)));
    }
    // What the person's unfinished restores staged in this table (a range of staging owners).
    const staged = stagedTables.get(name);
    if (staged) byOwner.push(inChunks(staged));
  }
  const theAccount = together(db.delete(schema.users).where(eq(schema.users.id, account.id)));
  return [first, byOwner, [theAccount]];
}

/** Every statement of the plan, in order (as written; the runner bounds the chunked ones). */
export function eraseStatements(db: Database, account: ErasedAccount): PlanStatement[] {
  return erasePlan(db, account).flatMap((phase) => phase.flatMap((step) => [...step.statements]));
}
