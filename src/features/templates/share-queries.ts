import { and, desc, eq, inArray, isNull, notExists, or, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskTemplates, templateShares, templateShareUses } from "../../db/schema";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { templateIdQuery, withSteps } from "./queries";
import { formatShareCode } from "./share-code";
import type { PopularTemplateDto, PopularTemplatesQuery } from "./share-schemas";

// Qualified by hand: inside a subquery a bare "id" would bind to the inner table's own column.
const OUTER_TEMPLATE_ID = sql.raw('"task_templates"."id"');

/** Templates whose code the caller may write: their own, and the built-ins (for everyone). */
const sharableBy = (userId: string) => or(eq(taskTemplates.userId, userId), isNull(taskTemplates.userId));

/**
 * Gives the template `templateId` names for the caller (by the rule every read uses) a share code,
 * unless it has one, in one statement: a concurrent share of the same template keeps the first code.
 * Only the caller's own template or a built-in one; nothing happens for anyone else's. A private
 * template is listed on the popular list only when the owner says so; sharing again keeps the
 * owner's last choice unless this request makes one.
 */
export function shareUpsertStatement(
  db: Database,
  userId: string,
  templateId: string,
  code: string,
  listed: boolean | undefined,
  now: string,
) {
  // Columns in the table's order: template_id, user_id, code, listed (always for a built-in), shared_at, created_at.
  const source = sql`SELECT t.id, t.user_id, ${code}, CASE WHEN t.user_id IS NULL THEN 1 ELSE ${listed ? 1 : 0} END,
    ${now}, ${now}
    FROM task_templates t
    WHERE t.id IN ${templateIdQuery(db, userId, templateId)} AND (t.user_id = ${userId} OR t.user_id IS NULL)`;
  return db
    .insert(templateShares)
    .select(source)
    .onConflictDoUpdate({
      target: templateShares.templateId,
      set: {
        code: sql`coalesce(${templateShares.code}, excluded.code)`,
        sharedAt: sql`CASE WHEN ${templateShares.code} IS NULL THEN excluded.shared_at ELSE ${templateShares.sharedAt} END`,
        ...(listed === undefined ? {} : { listed: sql`excluded.listed` }),
      },
    })
    .returning({ code: templateShares.code });
}

/** Retires the active code of the template `templateId` names for the caller, if it is their own. */
export function revokeShareStatement(db: Database, userId: string, templateId: string) {
  return db
    .update(templateShares)
    .set({ code: null, sharedAt: null })
    .where(
      and(
        inArray(templateShares.templateId, templateIdQuery(db, userId, templateId)),
        eq(templateShares.userId, userId),
      ),
    );
}

/**
 * Copies the state of the template's share onto the template, where the popular list's index reads
 * it: listed while it has an active code its owner lets the list show. Runs after every share and revoke.
 */
export function syncListedStatement(db: Database, userId: string, templateId: string) {
  return db
    .update(taskTemplates)
    .set({
      listedByCode: sql`coalesce((SELECT s.code IS NOT NULL AND s.listed FROM template_shares s
        WHERE s.template_id = ${OUTER_TEMPLATE_ID}), 0)`,
    })
    .where(and(inArray(taskTemplates.id, templateIdQuery(db, userId, templateId)), sharableBy(userId)));
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
 * Counts `userId` once among the people who imported the template: one up while they have no use
 * recorded, then their use is recorded. D1 runs a batch as one transaction, one batch at a time, so
 * two imports by the same person never both count.
 */
export function recordUseStatements(db: Database, templateId: string, userId: string, now: string) {
  const recorded = db
    .select({ one: sql`1` })
    .from(templateShareUses)
    .where(and(eq(templateShareUses.templateId, templateId), eq(templateShareUses.userId, userId)));
  return [
    db
      .update(taskTemplates)
      .set({ uses: sql`${taskTemplates.uses} + 1` })
      .where(and(eq(taskTemplates.id, templateId), notExists(recorded))),
    db.insert(templateShareUses).values({ templateId, userId, createdAt: now }).onConflictDoNothing(),
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
 * Forgets a person as an importer (their account is being deleted): their records go. The templates
 * they imported keep counting them — a use count is a number, not a record of the person (README:
 * Templates by code).
 */
export function forgetImporterStatements(db: Database, userId: string) {
  return [db.delete(templateShareUses).where(eq(templateShareUses.userId, userId))] as const;
}

/** The popular list's keyset cursor: uses, times applied, created_at, then the id for ties. */
export const POPULAR_CURSOR_PATTERN = /^\d{1,12} \d{1,12} [0-9TZ:.+-]{1,40} [A-Za-z0-9_.:-]{1,64}$/;

const stepCount = sql<number>`(SELECT count(*) FROM template_steps s WHERE s.template_id = ${OUTER_TEMPLATE_ID})`;
const totalMinutes = sql<number>`(SELECT coalesce(sum(s.estimated_minutes), 0) FROM template_steps s
  WHERE s.template_id = ${OUTER_TEMPLATE_ID})`;

/** Most imported first, then most applied, then newest; the id makes the order total. */
const popularOrder = [
  desc(taskTemplates.uses),
  desc(taskTemplates.timesApplied),
  desc(taskTemplates.createdAt),
  desc(taskTemplates.id),
];

/**
 * A page of the templates anyone may find: public ones and those shared under a listed code, in
 * `popularOrder`. Nothing says who made them.
 *
 * The page's ids come first, in order, off the partial index task_templates_popular (its condition
 * is repeated word for word: SQLite uses a partial index only for a query that says the same), so a
 * page costs its own rows; its steps are added up for those rows only.
 */
export async function popularTemplates(
  db: Database,
  query: PopularTemplatesQuery,
  after: string | null,
): Promise<Page<PopularTemplateDto>> {
  const conditions: (SQL | undefined)[] = [
    sql`(${taskTemplates.isPublic} = 1 OR ${taskTemplates.listedByCode} = 1)`,
  ];
  if (query.category) conditions.push(eq(taskTemplates.category, query.category));
  if (after) {
    const [afterUses = "0", afterApplied = "0", afterCreated = "", afterId = ""] = after.split(" ");
    conditions.push(
      sql`(${taskTemplates.uses}, ${taskTemplates.timesApplied}, ${taskTemplates.createdAt}, ${taskTemplates.id}) <
        (${Number(afterUses)}, ${Number(afterApplied)}, ${afterCreated}, ${afterId})`,
    );
  }
  const page = db
    .select({ id: taskTemplates.id })
    .from(taskTemplates)
    .where(and(...conditions))
    .orderBy(...popularOrder)
    .limit(rowsToFetch(query.limit))
    .as("page");
  const rows = await db
    .select({ template: taskTemplates, code: templateShares.code, stepCount, totalMinutes })
    .from(page)
    .innerJoin(taskTemplates, eq(taskTemplates.id, page.id))
    .leftJoin(templateShares, eq(templateShares.templateId, taskTemplates.id))
    .orderBy(...popularOrder)
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
      uses: row.template.uses,
      times_applied: row.template.timesApplied,
      created_at: row.template.createdAt,
    }),
    (row) => `${row.template.uses} ${row.template.timesApplied} ${row.template.createdAt} ${row.template.id}`,
  );
}
