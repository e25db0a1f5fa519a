import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { Env } from "../../env";
import { commaList } from "../comma-list";

/** Whether the account is one of the administrators named in ADMIN_EMAILS (comma-separated). */
export async function isAdmin(
  db: Database,
  env: Pick<Env, "ADMIN_EMAILS">,
  userId: string,
): Promise<boolean> {
  const admins = commaList(env.ADMIN_EMAILS).map((e) => e.toLowerCase());
  if (admins.length === 0) return false;
  const row = await db.select({ email: users.email }).from(users).where(eq(users.id, userId)).get();
  return row !== undefined && admins.includes(row.email.toLowerCase());
}
