import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    displayName: text("display_name"),
    /**
     * The name the original mobile app signs in with (optional here). `username_key` is its NFKC
     * lower-cased form, unique: "Sam" and "sam" are one username. NULLs never collide.
     */
    username: text("username"),
    usernameKey: text("username_key"),
    timezone: text("timezone").notNull().default("UTC"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /**
     * Set when the account's deletion began (src/features/account): from then on it is gone to every
     * token and login, and the housekeeping cron finishes any deletion that did not (the row goes last).
     */
    deletingAt: text("deleting_at"),
  },
  (t) => [
    uniqueIndex("users_email_unique").on(t.email),
    uniqueIndex("users_username_key").on(t.usernameKey),
    index("users_deleting").on(t.deletingAt).where(sql`${t.deletingAt} IS NOT NULL`),
  ],
);

/**
 * Rotating refresh tokens. A family is one login; rotation chains tokens in a family, and reuse of a
 * rotated token revokes the whole family (it means the token leaked).
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    familyId: text("family_id").notNull(),
    tokenHash: text("token_hash").notNull(),
    expiresAt: text("expires_at").notNull(),
    createdAt: text("created_at").notNull(),
    revokedAt: text("revoked_at"),
    replacedBy: text("replaced_by"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_unique").on(t.tokenHash),
    index("refresh_tokens_user_family").on(t.userId, t.familyId),
  ],
);

/** Personal API tokens: only the SHA-256 of the secret is stored; the secret is shown once. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    tokenPrefix: text("token_prefix").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    /** Set for an agent's own token: it acts as that agent, on that agent's assignments only. */
    agentId: text("agent_id"),
    expiresAt: text("expires_at"),
    lastUsedAt: text("last_used_at"),
    createdAt: text("created_at").notNull(),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("api_tokens_hash_unique").on(t.tokenHash), index("api_tokens_user").on(t.userId, t.id)],
);

/** Failed-login counters per account and per client address, for lockouts with Retry-After. */
export const loginThrottles = sqliteTable("login_throttles", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at").notNull(),
  lockedUntil: integer("locked_until"),
});
