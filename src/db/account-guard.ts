import { errorText } from "../lib/db-errors";
import { unauthorized } from "../lib/errors";

/**
 * The check that a login's account still exists, carried by the write's own D1 batch instead of a
 * lookup of its own beside it: the batch's first statement aborts the whole batch (its transaction)
 * when the account is gone or being deleted, so nothing is written for an account that is not there,
 * and the request costs one round trip fewer. See `requireAuth`'s `accountLookup: "carried"`.
 *
 * The guard is a write, so a batch carrying it goes to the primary database even when the rest of it
 * only reads (a write request's lookup went there anyway). A batch of reads that `retryReads` sends
 * again after a transient failure sends the guard again too: it writes nothing when it passes. The
 * `account_guards` table (migration 0037) must exist before code that uses it is deployed.
 */

// Fails (NOT NULL) only when no live account has this id; otherwise inserts nothing. Plain text, as it
// goes to the D1 session itself, below drizzle: the same condition as `accountIsLive`
// (lib/auth/account.ts), which drizzle statements use.
const GUARD_SQL =
  "INSERT INTO account_guards (account) SELECT NULL WHERE NOT EXISTS " +
  "(SELECT 1 FROM users WHERE id = ?1 AND deleting_at IS NULL)";

/** What the guard learnt during the request. */
export interface AccountGuard {
  /** A batch carrying the guard went through: the account existed when the route wrote. */
  held: boolean;
}

/** The answer to a login whose account is gone (deleted, or being deleted). */
export const accountGone = () => unauthorized("The account behind this token no longer exists.");

/** True for the error of a batch whose account guard aborted it. */
export function isAccountGuardAbort(error: unknown): boolean {
  return errorText(error).includes("account_guards.account");
}

/** The session, with the account guard put first in every batch it sends (its result taken off). */
export function guardedSession(
  session: D1DatabaseSession,
  userId: string,
  guard: AccountGuard,
): D1DatabaseSession {
  return new Proxy(session, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const [, ...results] = await target.batch([target.prepare(GUARD_SQL).bind(userId), ...statements]);
          guard.held = true;
          return results;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
