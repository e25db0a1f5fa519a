import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Never holds a row. A batch that must stop when a condition holds inside its own transaction inserts
 * NULL here under that condition (see `abortIf` in src/lib/batch.ts): the NOT NULL failure rolls the
 * whole batch back, so a check made before the batch cannot be raced past.
 */
export const batchGuards = sqliteTable("batch_guards", {
  reason: text("reason").notNull(),
});

/**
 * Never holds a row either: the account guard a write's batch carries inserts NULL here when the
 * caller's account is gone (see src/db/account-guard.ts). A table of its own, so its failure names it
 * and cannot be taken for a route's own guard.
 */
export const accountGuards = sqliteTable("account_guards", {
  account: text("account").notNull(),
});
