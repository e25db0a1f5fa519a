import { drizzle } from "drizzle-orm/d1";

export type Database = ReturnType<typeof createDatabase>;

/**
 * A drizzle client over a D1 session, so read replicas can serve reads while the caller still
 * sees its own writes (the session's bookmark travels in the `x-d1-bookmark` header).
 * Drizzle only calls `prepare` and `batch`, which a session has; its types name only D1Database.
 *
 * No schema is passed: it only serves drizzle's relational `db.query` API, which nothing here uses,
 * and drizzle would walk every table and relation of it each time a client is made — up to a tenth
 * of a focus start's CPU in the rooms bench's profile (bench/README.md).
 */
export function createDatabase(client: D1Database | D1DatabaseSession) {
  return drizzle(client as D1Database);
}
