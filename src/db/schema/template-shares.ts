import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Templates shared by a short code (BE-08). One row per template ever shared, keyed by the template's
 * global id: `code` is its one active code, null once revoked (a revoked code is simply gone, so it
 * imports as unknown). The count of people who imported it is the template's own `uses`, which
 * survives revoking and sharing again, because it counts people, not codes.
 *
 * `user_id` is the template's owner (null for the platform's built-ins), so an account's rows are found
 * by it.
 */
export const templateShares = sqliteTable(
  "template_shares",
  {
    templateId: text("template_id").primaryKey(),
    userId: text("user_id"),
    /** 10 Crockford base32 characters, upper case, without the hyphen shown to people. */
    code: text("code"),
    /**
     * The owner's choice: whether GET /templates/popular shows it while it is private (public templates
     * are listed anyway). Written on every share; the column default is not relied on.
     */
    listed: integer("listed", { mode: "boolean" }).notNull().default(true),
    /** When the active code was made; null while there is none. */
    sharedAt: text("shared_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("template_shares_code").on(t.code),
    index("template_shares_user").on(t.userId, t.templateId),
  ],
);

/** Who imported which template: a second import by the same person finds their row and counts nothing. */
export const templateShareUses = sqliteTable(
  "template_share_uses",
  {
    templateId: text("template_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateId, t.userId] }), index("template_share_uses_user").on(t.userId)],
);
