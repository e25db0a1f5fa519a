import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { apiTokens } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError } from "../../lib/errors";
import { confirmPassword } from "../auth/service";
import { eraseFocusTimer } from "../focus/service";
import { eraseFromLeaderboards } from "../gamification/leaderboard";
import { erasePetState } from "../pets/service";
import { eraseStatements } from "./erase-plan";
import { eraseUserFiles } from "./files";

/** Seconds to wait before trying a deletion again that could not finish. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Everything of the person outside D1: their live timer and pet (sockets closed, storage emptied),
 * their scores on every leaderboard shard, their files. Each part is safe to repeat.
 */
function eraseOutsideD1(env: Env, userId: string) {
  return Promise.all([
    eraseFocusTimer(env, userId),
    erasePetState(env, userId),
    eraseFromLeaderboards(env, [userId]),
    eraseUserFiles(env.FILES, userId),
  ]);
}

/** Whether the account ever held an administrator's token (its id may then be in platform records). */
async function everAdministered(db: Database, userId: string): Promise<boolean> {
  const row = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.userId, userId),
        sql`EXISTS (SELECT 1 FROM json_each(${apiTokens.scopes}) WHERE value = 'admin')`,
      ),
    )
    .limit(1)
    .get();
  return row !== undefined;
}

/**
 * Deletes the signed-in account, password confirmed. The order keeps a failure retryable: first what
 * lives outside D1 (safe to repeat) — should that fail, the account still exists and its owner simply
 * asks again; then every D1 row in one batch, one transaction — the credentials go with it, so from
 * that moment every token is refused; then what lives outside D1 once more, for anything in-flight
 * work recreated meanwhile (a queued event feeding the pet, a request that passed its check a moment
 * before). Writers that outlive a request check the account inside their own batch (src/lib/auth/account.ts).
 */
export async function deleteAccount(
  db: Database,
  env: Env,
  userId: string,
  password: string,
  clientAddress: string,
): Promise<void> {
  const user = await confirmPassword(db, userId, password, clientAddress);
  const wasAdmin = await everAdministered(db, user.id);
  try {
    await eraseOutsideD1(env, user.id);
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", message: "account erasure failed before D1", error: String(error) }),
    );
    throw new ApiError(
      503,
      "deletion_incomplete",
      "The account could not be deleted just now; it still exists, so try again in a few seconds.",
      { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } },
    );
  }
  await db.batch(eraseStatements(db, { id: user.id, email: user.email, wasAdmin }));
  try {
    await eraseOutsideD1(env, user.id);
  } catch (error) {
    // The account is gone; what remains would only be what a racing write put back, which guards
    // inside the objects erase on their next write.
    console.error(
      JSON.stringify({ level: "error", message: "account erasure after D1 failed", error: String(error) }),
    );
  }
}
