import { and, eq, isNull, sql } from "drizzle-orm";
import { createDatabase, type Database } from "../../db";
import { apiTokens, refreshTokens, users } from "../../db/schema";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
import { nowIso } from "../../lib/time";
import { eraseFocusTimer } from "../focus/service";
import { eraseFromLeaderboards } from "../gamification/leaderboard";
import { erasePetState } from "../pets/service";
import { eraseFromRooms } from "../rooms/service";
import { type ErasedAccount, erasePlan } from "./erase-plan";
import { type EraseRunResult, ROWS_PER_STATEMENT, runErasePlan } from "./erase-run";
import { eraseUserFiles } from "./files";
import type { ErasureMessage } from "./messages";

/** D1 statements a deletion request may send for the erasure; the rest is finished by the queue. */
export const REQUEST_BUDGET = 400;
/** D1 statements a job may send for erasures in one invocation (D1 allows 1,000). */
export const JOB_BUDGET = 900;
/**
 * A minute after a deletion, its rows are swept once more: a request that read the account just
 * before it was marked has finished by then, and whatever it wrote goes too.
 */
export const RESWEEP_DELAY_SECONDS = 60;

/** Whether the account ever held an administrator's token (its id may then be in platform records). */
export function everAdministeredQuery(db: Database, userId: string) {
  return db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.userId, userId),
        sql`EXISTS (SELECT 1 FROM json_each(${apiTokens.scopes}) WHERE value = 'admin')`,
      ),
    )
    .limit(1);
}

/**
 * Marks the account as being deleted and ends its logins and API tokens: from this moment every token
 * is refused and signing in fails, whatever happens next. Idempotent.
 */
export function markDeletingStatements(db: Database, userId: string, now = Date.now()) {
  const at = nowIso(now);
  return [
    db
      .update(users)
      .set({ deletingAt: at })
      .where(and(eq(users.id, userId), isNull(users.deletingAt))),
    db
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt))),
    db
      .update(apiTokens)
      .set({ revokedAt: at })
      .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt))),
  ] as const;
}

/**
 * Everything of the person outside D1: their live timer and pet (sockets closed, storage emptied down
 * to a tombstone that refuses every later call), their place in each focus room (found by the
 * memberships D1 still holds: this runs before they go), their scores on every leaderboard shard,
 * their files. Each part is safe to repeat.
 */
export async function eraseOutsideD1(
  env: Env,
  userId: string,
  d1: D1Database | D1DatabaseSession,
): Promise<void> {
  await Promise.all([
    eraseFocusTimer(env, userId),
    eraseFromRooms(env, createDatabase(d1), userId),
    erasePetState(env, userId),
    eraseFromLeaderboards(env, [userId]),
    eraseUserFiles(env.FILES, userId),
  ]);
}

/**
 * Erases the account: first what lives outside D1 (the objects then refuse, so nothing of theirs
 * reaches D1 again), then D1's rows in bounded chunks, the account's row last. Stops when `budget`
 * statements are spent (`done` false); running it again goes on from there.
 */
export async function eraseAccount(
  env: Env,
  account: ErasedAccount,
  budget: number,
  /** A request's own session on the primary, whose statements its costs count; the binding elsewhere. */
  d1: D1Database | D1DatabaseSession = env.DB,
): Promise<EraseRunResult> {
  await eraseOutsideD1(env, account.id, d1);
  const rowsPerStatement = Number(env.ERASURE_CHUNK_ROWS) || ROWS_PER_STATEMENT;
  return runErasePlan(d1, erasePlan(createDatabase(d1), account), { budget, rowsPerStatement });
}

/**
 * A job's turn at an account: erases it further when it is being deleted or already gone (a sweep).
 * An account that is neither is never touched ("alive"): a sweep may name one only by mistake.
 */
export async function continueErasure(
  env: Env,
  userId: string,
  budget: number,
): Promise<"alive" | "done" | "more"> {
  const db = createDatabase(env.DB);
  const [rows, admin] = await db.batch([
    db
      .select({ email: users.email, deletingAt: users.deletingAt })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1),
    everAdministeredQuery(db, userId),
  ]);
  const row = rows[0];
  if (row && row.deletingAt === null) return "alive";
  const run = await eraseAccount(
    env,
    { id: userId, email: row?.email ?? "", wasAdmin: admin.length > 0 },
    budget,
  );
  return run.done ? "done" : "more";
}

/** Puts the account on the erasure queue; `delaySeconds` for the sweep after a deletion. */
export async function enqueueErasure(
  env: Pick<Env, "ERASURE_QUEUE">,
  message: ErasureMessage,
  delaySeconds?: number,
): Promise<void> {
  await env.ERASURE_QUEUE.send(
    message,
    delaySeconds ? { delaySeconds, contentType: "json" } : { contentType: "json" },
  );
}

/** `enqueueErasure`, where a failure only delays the work (the housekeeping cron or a later sweep does it). */
export async function tryEnqueueErasure(
  env: Pick<Env, "ERASURE_QUEUE">,
  message: ErasureMessage,
  delaySeconds?: number,
): Promise<void> {
  try {
    await enqueueErasure(env, message, delaySeconds);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "erasure not queued",
        type: message.type,
        error: loggableError(error),
      }),
    );
  }
}
