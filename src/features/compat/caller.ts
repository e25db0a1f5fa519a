import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { usernameKey } from "./username-key";

/**
 * The user a path's `{user_id}` names, which can only be the caller: `me`, the caller's id, or the
 * caller's username (any case). Anything else — another user's id included — is answered exactly like
 * an id that does not exist, so a path never tells whether someone else's account exists.
 */
export async function callerFromPath(
  db: Database,
  callerId: string,
  param: string,
  what: string,
): Promise<string> {
  if (param === "me" || param === callerId) return callerId;
  // Only a name that could be a username costs a read (ids and placeholders such as user_123 may be).
  if (param.length >= 3 && param.length <= 50 && !param.includes("@")) {
    const [row] = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.usernameKey, usernameKey(param)), isNull(users.deletingAt)));
    if (row?.id === callerId) return callerId;
  }
  throw notFound(what);
}
