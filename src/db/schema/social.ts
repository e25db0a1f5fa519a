import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const SHARE_KINDS = ["achievement", "level", "streak", "creature", "task"] as const;
export type ShareKind = (typeof SHARE_KINDS)[number];

/**
 * Shared moments (BE-08): a public link and image card of one win. What the card shows is a snapshot
 * taken when it was shared (`snapshot`, JSON, versioned by its `v`), so it never changes and never
 * shows more than the person chose. Revoking deletes the row: the code then answers 404.
 */
export const socialShares = sqliteTable(
  "social_shares",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    /** The public, unguessable part of the link (/s/<code>): lower-case, unambiguous characters. */
    code: text("code").notNull(),
    kind: text("kind", { enum: SHARE_KINDS }).notNull(),
    /** The badge or task shared, for those kinds. */
    refId: text("ref_id"),
    snapshot: text("snapshot", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("social_shares_code").on(t.code), index("social_shares_user").on(t.userId, t.id)],
);

/** One item of a public profile's showcase, as its owner chose it. */
export type ShowcaseChoice =
  | { kind: "level" | "streak" | "badges" | "creature" | "totals" }
  | { kind: "task"; task_id: string };

/**
 * Public profiles: off until the person picks a handle and turns `is_public` on. `handle_key` (the
 * handle in lower case) is unique, so two people can never hold handles that differ only in case.
 * The handle the person last let go of (`released_handle_key`, at `released_at`) stays theirs for a
 * while, so nobody else can take it up at once and pass for them with old links.
 */
export const socialProfiles = sqliteTable(
  "social_profiles",
  {
    userId: text("user_id").primaryKey(),
    handle: text("handle").notNull(),
    handleKey: text("handle_key").notNull(),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
    showcase: text("showcase", { mode: "json" }).$type<ShowcaseChoice[]>().notNull(),
    releasedHandleKey: text("released_handle_key"),
    releasedAt: text("released_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("social_profiles_handle_key").on(t.handleKey),
    index("social_profiles_released_handle").on(t.releasedHandleKey),
  ],
);
