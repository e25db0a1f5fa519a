/**
 * What deleting an account removes from D1: one set-based statement per table (never row by row, so
 * an account with 100,000 tasks is still a few dozen statements), all in one batch — one transaction,
 * so the account is either whole or gone.
 *
 * Every table whose rows carry `user_id` is erased by it, found in the schema itself: a table added
 * later is covered the day it exists. A table without that column must say here how its rows of the
 * person go, or why it holds none; `unclassifiedTables` names any that does not (a test keeps it empty).
 */
import { eq, getTableName, inArray, is, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../../db";
import * as schema from "../../db/schema";
import { throttleKeys } from "../auth/throttle";

/** What stands in for an erased administrator where platform records named them. */
export const ERASED_ACCOUNT = "erased-account";

export interface ErasedAccount {
  id: string;
  email: string;
  /** Whether the account ever held an administrator's token (then its id may sit in others' rows). */
  wasAdmin: boolean;
}

type Item = BatchItem<"sqlite">;

/** Tables without `user_id`, and how the person's rows in them are erased (empty: they hold none). */
const WITHOUT_USER_ID: Record<string, (db: Database, account: ErasedAccount) => Item[]> = {
  // The account itself goes last, after everything that points at it.
  users: () => [],
  // The steps of the person's own templates (built-ins have no owner and stay).
  template_steps: (db, a) => [
    db
      .delete(schema.templateSteps)
      .where(
        inArray(
          schema.templateSteps.templateId,
          db
            .select({ id: schema.taskTemplates.id })
            .from(schema.taskTemplates)
            .where(eq(schema.taskTemplates.userId, a.id)),
        ),
      ),
  ],
  // Which handlers ran for the person's events: keyed by event id.
  event_receipts: (db, a) => [
    db
      .delete(schema.eventReceipts)
      .where(
        inArray(
          schema.eventReceipts.eventId,
          db.select({ id: schema.events.id }).from(schema.events).where(eq(schema.events.userId, a.id)),
        ),
      ),
  ],
  // Failed sign-ins are counted under the email too (the address's count is not the person's).
  login_throttles: (db, a) =>
    a.email
      ? [
          db
            .delete(schema.loginThrottles)
            .where(eq(schema.loginThrottles.key, throttleKeys(a.email, "").account)),
        ]
      : [],
  // Bonus XP windows are the platform's; the administrator who opened one is no longer named.
  bonus_events: (db, a) => [
    db
      .update(schema.bonusEvents)
      .set({ createdBy: ERASED_ACCOUNT })
      .where(eq(schema.bonusEvents.createdBy, a.id)),
  ],
  // Badge definitions and the level curve: the platform's, nobody's.
  badges: () => [],
  xp_levels: () => [],
  // Never holds a row (src/lib/batch.ts).
  batch_guards: () => [],
};

/**
 * Tables with `user_id` erased more widely than by it: dead letters are recorded even when their body
 * names no user, so a body that mentions the id goes too.
 */
const INSTEAD_OF_USER_ID: Record<string, (db: Database, account: ErasedAccount) => Item[]> = {
  dead_letters: (db, a) => [
    db
      .delete(schema.deadLetters)
      .where(sql`${schema.deadLetters.userId} = ${a.id} OR instr(${schema.deadLetters.body}, ${a.id}) > 0`),
  ],
};

/** Tables with `user_id` whose other people's rows may name the person too. */
const BESIDES_USER_ID: Record<string, (db: Database, account: ErasedAccount) => Item[]> = {
  // Someone else's XP granted by this administrator: the grant stays theirs, the granter is not named.
  events: (db, a) => [
    ...(a.wasAdmin
      ? [
          db
            .update(schema.events)
            .set({ data: sql`json_set(${schema.events.data}, '$.granted_by', ${ERASED_ACCOUNT})` })
            .where(
              sql`${schema.events.type} = 'xp.manual' AND json_extract(${schema.events.data}, '$.granted_by') = ${a.id}`,
            ),
        ]
      : []),
  ],
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
 * The statements that erase the account, in order: rows found through the person's own rows first
 * (template steps, event receipts), then every table by `user_id`, then the account.
 */
export function eraseStatements(db: Database, account: ErasedAccount): [Item, ...Item[]] {
  const unclassified = unclassifiedTables();
  if (unclassified.length > 0) {
    throw new Error(`No erasure rule for ${unclassified.join(", ")} (src/features/account/erase-plan.ts)`);
  }
  const through: Item[] = [];
  const byUser: Item[] = [];
  for (const table of tables) {
    const name = getTableName(table);
    const column = userIdColumn(table);
    if (!column) {
      through.push(...(WITHOUT_USER_ID[name]?.(db, account) ?? []));
      continue;
    }
    through.push(...(BESIDES_USER_ID[name]?.(db, account) ?? []));
    const instead = INSTEAD_OF_USER_ID[name];
    const owned: SQL = sql`${column} = ${account.id}`;
    byUser.push(...(instead ? instead(db, account) : [db.delete(table).where(owned)]));
  }
  const [first, ...rest] = [...through, ...byUser];
  const theAccount = db.delete(schema.users).where(eq(schema.users.id, account.id));
  return first ? [first, ...rest, theAccount] : [theAccount];
}

/**
 * The same erasure for an account already deleted, run again after a request or a job that passed its
 * account check just before the deletion: whatever it wrote since goes too.
 */
export function orphanSweep(db: Database, userId: string): [Item, ...Item[]] {
  return eraseStatements(db, { id: userId, email: "", wasAdmin: false });
}
