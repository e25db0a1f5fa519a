import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { LEAF_TYPES, TASK_CATEGORIES } from "./tasks";

/**
 * Reusable task shapes (BE-01). `user_id` is null for the platform's own public templates; a user's
 * template is private unless `is_public`.
 *
 * `id` is global (server-made, or a built-in's name) and is how everyone else addresses a template;
 * `client_id` is its owner's own name for it, unique per owner only, so choosing an id never reveals
 * that another account uses it.
 */
export const taskTemplates = sqliteTable(
  "task_templates",
  {
    id: text("id").primaryKey(),
    userId: text("user_id"),
    /** The owner's id for it: the one they chose, else `id`. Null for built-ins. */
    clientId: text("client_id"),
    name: text("name").notNull(),
    description: text("description"),
    category: text("category", { enum: TASK_CATEGORIES }).notNull(),
    icon: text("icon"),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
    timesApplied: integer("times_applied").notNull().default(0),
    /**
     * Distinct people other than the owner who imported it by code (template_share_uses), counted up
     * once per person, never down. Here rather than on its share so the popular list's whole order is
     * one index.
     */
    uses: integer("uses").notNull().default(0),
    /** Its active share code is listed on the popular list (template_shares, kept by share and revoke). */
    listedByCode: integer("listed_by_code", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("task_templates_user").on(t.userId, t.id),
    uniqueIndex("task_templates_user_client_id").on(t.userId, t.clientId),
    index("task_templates_public").on(t.isPublic, t.id),
    // GET /templates/popular walks this in order: a page costs its own rows, not every candidate's.
    index("task_templates_popular")
      .on(t.uses, t.timesApplied, t.createdAt, t.id)
      .where(sql`${t.isPublic} = 1 OR ${t.listedByCode} = 1`),
    check(
      "task_templates_category_check",
      sql`${t.category} IN ('Academic','Work','Personal','Health','Creative')`,
    ),
  ],
);

export const templateSteps = sqliteTable(
  "template_steps",
  {
    id: text("id").primaryKey(),
    templateId: text("template_id").notNull(),
    position: integer("position").notNull(),
    description: text("description").notNull(),
    shortLabel: text("short_label"),
    estimatedMinutes: integer("estimated_minutes").notNull(),
    leafType: text("leaf_type", { enum: LEAF_TYPES }).notNull().default("HUMAN"),
    icon: text("icon"),
  },
  (t) => [
    index("template_steps_template").on(t.templateId, t.position),
    // The export pages a user's template steps by (template_id, id), template after template, with no sort.
    index("template_steps_template_id").on(t.templateId, t.id),
    // A template's step may be a longer block (the original app's templates have 15–60 minutes); it
    // becomes 10-minute micro-steps when the template is applied to a task.
    check("template_steps_minutes_check", sql`${t.estimatedMinutes} BETWEEN 1 AND 60`),
  ],
);
