import { and, desc, eq, inArray, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskTemplates, templateShares, templateShareUses } from "../../db/schema";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { ownedBy, withSteps } from "./queries";
import { formatShareCode } from "./share-code";
import type { PopularTemplateDto, PopularTemplatesQuery } from "./share-schemas";

// Qualified by hand: inside a subquery a bare "id" would bind to the inner table's own column.
const OUTER_TEMPLATE_ID = sql.raw('"task_templates"."id"');

/**
 * Gives the template the caller may share a code (its owner, or anyone for a built-in) unless it has
 * one, in one statement: a concurrent share of the same template keeps the first code. Returns the
 * row when the caller may share it, nothing otherwise (someone else's template, or none).
 */
export function shareUpsertStatement(
  db: Database,
  userId: string,
  templateId: string,
  code: string,
  listed: boolean | undefined,
  now: string,
) {
  const listedGiven = listed !== undefined;
  // Columns in the table's order: code, then listed (always for a built-in), uses, shared_at, created_at.
  const source = sql`SELECT t.id, t.user_id, ${code}, CASE WHEN t.user_id IS NULL THEN 1 ELSE ${
    (listed ?? true) ? 1 : 0
  } END, 0, ${now}, ${now}
    FROM task_templates t
    WHERE (t.user_id = ${userId} AND t.client_id = ${templateId}) OR (t.user_id IS NULL AND t.id = ${templateId})
    ORDER BY t.user_id IS NULL LIMIT 1`;
  return db
    .insert(templateShares)
    .select(source)
    .onConflictDoUpdate({
      target: templateShares.templateId,
      set: {
        code: sql`coalesce(${templateShares.code}, excluded.code)`,
        sharedAt: sql`CASE WHEN ${templateShares.code} IS NULL THEN excluded.shared_at ELSE ${templateShares.sharedAt} END`,
        listed: sql`CASE WHEN ${listedGiven ? 1 : 0} OR ${templateShares.code} IS NULL THEN excluded.listed ELSE ${templateShares.listed} END`,
      },
    })
    .returning({ code: templateShares.code });
}

/** Retires the active code of the caller's own template (nothing for anyone else's). */
export function revokeShareStatement(db: Database, userId: string, templateId: string) {
  const owned = db.select({ id: taskTemplates.id }).from(taskTemplates).where(ownedBy(userId, templateId));
  return db
    .update(templateShares)
    .set({ code: null, sharedAt: null })
    .where(inArray(templateShares.templateId, owned));
}

/** The template shared under an active code, with its steps (empty when the code is unknown or revoked). */
export function templateByCodeQuery(db: Database, code: string) {
  return db
    .select(withSteps)
    .from(taskTemplates)
    .innerJoin(templateShares, eq(templateShares.templateId, taskTemplates.id))
    .where(eq(templateShares.code, code))
    .limit(1);
}

/**
 * Counts `userId` once among the people who imported the template: the use is recorded (again, in
 * vain, for a second import) and the count recomputed from the records, so it is exact whatever ran
 * at the same time.
 */
export function recordUseStatements(db: Database, templateId: string, userId: string, now: string) {
  return [
    db.insert(templateShareUses).values({ templateId, userId, createdAt: now }).onConflictDoNothing(),
    db
      .update(templateShares)
      .set({
        uses: sql`(SELECT count(*) FROM template_share_uses u WHERE u.template_id = ${templateId})`,
      })
      .where(eq(templateShares.templateId, templateId)),
  ];
}

/** What goes with a template when it is deleted: its code and the record of who imported it. */
export function deleteSharesStatements(db: Database, templateIds: SQLWrapper) {
  return [
    db.delete(templateShareUses).where(inArray(templateShareUses.templateId, templateIds)),
    db.delete(templateShares).where(inArray(templateShares.templateId, templateIds)),
  ];
}

/**
 * Forgets a person as an importer (their account is being deleted): each template they imported counts
 * one person fewer, and their records go. Run both in one batch: the count falls once per record, and
 * a second run finds no record left, so it changes nothing.
 */
export function forgetImporterStatements(db: Database, userId: string) {
  const imported = db
    .select({ id: templateShareUses.templateId })
    .from(templateShareUses)
    .where(eq(templateShareUses.userId, userId));
  return [
    db
      .update(templateShares)
      .set({ uses: sql`max(${templateShares.uses} - 1, 0)` })
      .where(inArray(templateShares.templateId, imported)),
    db.delete(templateShareUses).where(eq(templateShareUses.userId, userId)),
  ] as const;
}

/** The popular list's keyset cursor: uses, times applied, created_at, then the id for ties. */
export const POPULAR_CURSOR_PATTERN = /^\d{1,12} \d{1,12} [0-9TZ:.+-]{1,40} [A-Za-z0-9_.:-]{1,64}$/;

const uses = sql<number>`coalesce(${templateShares.uses}, 0)`;
const stepCount = sql<number>`(SELECT count(*) FROM template_steps s WHERE s.template_id = ${OUTER_TEMPLATE_ID})`;
const totalMinutes = sql<number>`(SELECT coalesce(sum(s.estimated_minutes), 0) FROM template_steps s
  WHERE s.template_id = ${OUTER_TEMPLATE_ID})`;

/**
 * A page of the templates anyone may find: public ones and those shared under a listed code, most
 * imported first, then most applied, then newest. Nothing says who made them.
 */
export async function popularTemplates(
  db: Database,
  query: PopularTemplatesQuery,
  after: string | null,
): Promise<Page<PopularTemplateDto>> {
  const conditions: (SQL | undefined)[] = [
    // The candidates from two indexed sets, not an OR over the join: that would scan every template.
    sql`${taskTemplates.id} IN (SELECT id FROM task_templates WHERE is_public = 1
      UNION ALL SELECT template_id FROM template_shares WHERE code IS NOT NULL AND listed = 1)`,
  ];
  if (query.category) conditions.push(eq(taskTemplates.category, query.category));
  if (after) {
    const [afterUses = "0", afterApplied = "0", afterCreated = "", afterId = ""] = after.split(" ");
    conditions.push(
      sql`(${uses}, ${taskTemplates.timesApplied}, ${taskTemplates.createdAt}, ${taskTemplates.id}) <
        (${Number(afterUses)}, ${Number(afterApplied)}, ${afterCreated}, ${afterId})`,
    );
  }
  const rows = await db
    .select({
      template: taskTemplates,
      code: templateShares.code,
      uses,
      stepCount,
      totalMinutes,
    })
    .from(taskTemplates)
    .leftJoin(templateShares, eq(templateShares.templateId, taskTemplates.id))
    .where(and(...conditions))
    .orderBy(
      desc(uses),
      desc(taskTemplates.timesApplied),
      desc(taskTemplates.createdAt),
      desc(taskTemplates.id),
    )
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(
    rows,
    query.limit,
    (row): PopularTemplateDto => ({
      code: row.code ? formatShareCode(row.code) : null,
      template_id: row.template.isPublic ? row.template.id : null,
      name: row.template.name,
      description: row.template.description,
      category: row.template.category,
      icon: row.template.icon,
      is_default: row.template.userId === null,
      step_count: row.stepCount,
      total_estimated_minutes: row.totalMinutes,
      uses: row.uses,
      times_applied: row.template.timesApplied,
      created_at: row.template.createdAt,
    }),
    (row) => `${row.uses} ${row.template.timesApplied} ${row.template.createdAt} ${row.template.id}`,
  );
}
