import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof createDatabase>;

/**
 * A drizzle client over a D1 session, so read replicas can serve reads while the caller still
 * sees its own writes (the session's bookmark travels in the `x-d1-bookmark` header).
 * Drizzle only calls `prepare` and `batch`, which a session has; its types name only D1Database.
 */
export function createDatabase(client: D1Database | D1DatabaseSession) {
  return drizzle(client as D1Database, { schema });
}
