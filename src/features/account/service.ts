import type { Database } from "../../db";
import type { Env } from "../../env";
import { goneAccounts } from "../../lib/auth/account";
import { loggableError } from "../../lib/db-errors";
import { ApiError } from "../../lib/errors";
import { confirmPassword } from "../auth/service";
import {
  eraseAccount,
  everAdministeredQuery,
  markDeletingStatements,
  REQUEST_BUDGET,
  RESWEEP_DELAY_SECONDS,
  tryEnqueueErasure,
} from "./erasure";

/** Seconds to wait before asking again when the deletion could not even begin. */
const RETRY_AFTER_SECONDS = 5;
/** When a deletion that began but could not finish is done at the latest: the housekeeping cron's period. */
export const FINISHED_WITHIN_SECONDS = 300;

/** What a deletion request achieved: all of it, or all but what the queue finishes. */
export type DeletionOutcome = "deleted" | "continuing";

/**
 * Deletes the signed-in account, password confirmed. (a) The account is marked as being deleted and
 * its logins and tokens end, in one batch: from then on it is gone to every token and login. (b) What
 * lives outside D1 is erased (objects, scores, files). (c) D1's rows go in bounded chunks, the
 * account's row last. Should (b) or (c) fail, the answer is 503 and the housekeeping cron resumes the
 * deletion until it is complete; should the request's statement budget run out (a very big account),
 * the queue goes on with it. A minute after, a sweep erases whatever a request that read the account
 * just before the mark wrote since.
 */
export async function deleteAccount(
  db: Database,
  env: Env,
  userId: string,
  password: string,
  clientAddress: string,
  /** Where the erasure runs: a session on the primary (the request's, so its costs count it). */
  erasingOn: D1Database | D1DatabaseSession,
): Promise<DeletionOutcome> {
  const user = await confirmPassword(db, userId, password, clientAddress);
  let wasAdmin: boolean;
  try {
    const [admin] = await db.batch([
      everAdministeredQuery(db, user.id),
      ...markDeletingStatements(db, user.id),
    ]);
    wasAdmin = admin.length > 0;
    // This isolate refuses the account's tokens from now on without asking D1.
    goneAccounts.add(user.id);
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", message: "account deletion not begun", error: loggableError(error) }),
    );
    throw new ApiError(
      503,
      "deletion_unavailable",
      "The account could not be deleted just now; it still exists, so try again in a few seconds.",
      { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } },
    );
  }
  let done: boolean;
  try {
    const account = { id: user.id, email: user.email, wasAdmin };
    done = (await eraseAccount(env, account, REQUEST_BUDGET, erasingOn)).done;
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", message: "account deletion incomplete", error: loggableError(error) }),
    );
    throw new ApiError(
      503,
      "deletion_incomplete",
      "The account is closed and its deletion has begun, but it could not finish just now: it finishes " +
        "by itself within minutes. There is nothing to send again.",
      { headers: { "Retry-After": String(FINISHED_WITHIN_SECONDS) } },
    );
  }
  if (!done) {
    await tryEnqueueErasure(env, { type: "erase", user_id: user.id });
    return "continuing";
  }
  await tryEnqueueErasure(env, { type: "sweep", user_id: user.id }, RESWEEP_DELAY_SECONDS);
  return "deleted";
}
