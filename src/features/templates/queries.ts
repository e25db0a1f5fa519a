import { and, asc, eq, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskTemplates, templateSteps } from "../../db/schema";
import { chunkRows } from "../../lib/chunk";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { DEFAULT_STEP_MINUTES } from "../tasks/schemas";
import type { ListTemplatesQuery, TemplateDto, TemplateStepDto, TemplateStepInput } from "./schemas";
import { formatShareCode } from "./share-code";
import type { TemplateShareInfoDto } from "./share-schemas";

type TemplateRow = typeof taskTemplates.$inferSelect;

// Qualified by hand: inside the subquery a bare "id" would bind to template_steps' own column.
const OUTER_TEMPLATE_ID = sql.raw('"task_templates"."id"');
const OUTER_TEMPLATE_USES = sql.raw('"task_templates"."uses"');

/** A template's steps as one JSON array, so a whole page of templates is one statement. */
const stepsJson = sql<string>`(SELECT json_group_array(json_object(
  'step_id', s.id, 'position', s.position, 'description', s.description, 'short_label', s.short_label,
  'estimated_minutes', s.estimated_minutes, 'leaf_type', s.leaf_type, 'icon', s.icon))
  FROM (SELECT * FROM template_steps s WHERE s.template_id = ${OUTER_TEMPLATE_ID} ORDER BY s.position) s)`;

/** The template's active share code, as JSON (null when it has none): only its owner is shown it. */
const shareJson = sql<string | null>`(SELECT json_object('code', s.code, 'uses', ${OUTER_TEMPLATE_USES},
  'listed', s.listed, 'created_at', s.shared_at)
  FROM template_shares s WHERE s.template_id = ${OUTER_TEMPLATE_ID} AND s.code IS NOT NULL)`;

export const withSteps = { template: taskTemplates, steps: stepsJson, share: shareJson };

/** A step as stored (read back as JSON): the template it belongs to and its order are the template's. */
export type StoredTemplateStep = Omit<TemplateStepDto, "template_id" | "step_order">;

export interface TemplateQueryRow {
  template: TemplateRow;
  steps: string | StoredTemplateStep[];
  /** Absent for a template just written (it has no code yet). */
  share?: string | null;
}

interface StoredShare {
  code: string;
  uses: number;
  listed: number | boolean;
  created_at: string;
}

/** The owner's view of a template's active code, from the JSON `shareJson` reads. */
export function shareInfoOf(json: string | null | undefined): TemplateShareInfoDto | null {
  if (!json) return null;
  const share = JSON.parse(json) as StoredShare;
  return {
    code: formatShareCode(share.code),
    uses: share.uses,
    listed: Boolean(share.listed),
    created_at: share.created_at,
  };
}

/**
 * The templates a viewer may read: every public one (the platform's defaults are public) and the
 * viewer's own. `viewer` is null for an agent's token, which reads public templates only.
 */
function visibleTo(viewer: string | null): SQL | undefined {
  const isPublic = eq(taskTemplates.isPublic, true);
  return viewer ? or(isPublic, eq(taskTemplates.userId, viewer)) : isPublic;
}

/** The template only its owner may change, by the owner's own id for it. */
export function ownedBy(userId: string, templateId: string): SQL | undefined {
  return and(eq(taskTemplates.userId, userId), eq(taskTemplates.clientId, templateId));
}

/**
 * The id a viewer knows a template by: the owner's own id for their templates, the global id for
 * everyone else (two owners may have chosen the same id; the global one is never ambiguous).
 */
function idSeenBy(viewer: string | null): SQL<string> {
  return viewer
    ? sql<string>`CASE WHEN ${taskTemplates.userId} = ${viewer} THEN coalesce(${taskTemplates.clientId}, ${taskTemplates.id}) ELSE ${taskTemplates.id} END`
    : sql<string>`${taskTemplates.id}`;
}

/** The list's keyset cursor: the id the viewer sees, then the global id for ties (a own id may equal a public one). */
export const TEMPLATE_CURSOR_PATTERN = /^[A-Za-z0-9_.:-]{1,64} [A-Za-z0-9_.:-]{1,64}$/;

export function toTemplateDto(row: TemplateQueryRow, viewer: string | null): TemplateDto {
  const t = row.template;
  const templateId = viewer !== null && t.userId === viewer ? (t.clientId ?? t.id) : t.id;
  const steps = (typeof row.steps === "string" ? (JSON.parse(row.steps) as StoredTemplateStep[]) : row.steps)
    .slice()
    .sort((a, b) => a.position - b.position)
    .map((step) => ({ ...step, template_id: templateId, step_order: step.position }));
  return {
    template_id: templateId,
    name: t.name,
    description: t.description,
    category: t.category,
    icon: t.icon,
    is_public: t.isPublic,
    is_mine: viewer !== null && t.userId === viewer,
    is_default: t.userId === null,
    times_applied: t.timesApplied,
    step_count: steps.length,
    total_estimated_minutes: steps.reduce((sum, s) => sum + s.estimated_minutes, 0),
    steps,
    share: viewer !== null && t.userId === viewer ? shareInfoOf(row.share) : null,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}

/**
 * Which template `templateId` names for the viewer: their own by their id first, else a visible one
 * (their own among them) by its global id.
 */
function named(viewer: string | null, templateId: string) {
  const own = viewer ? ownedBy(viewer, templateId) : undefined;
  return {
    where: or(own, and(visibleTo(viewer), eq(taskTemplates.id, templateId))),
    first: own ? sql`${own} DESC` : sql`1`,
  };
}

/** One template the viewer may read, with its steps, as a batchable query (empty when not visible). */
export function templateByIdQuery(db: Database, viewer: string | null, templateId: string) {
  const { where, first } = named(viewer, templateId);
  return db.select(withSteps).from(taskTemplates).where(where).orderBy(first).limit(1);
}

/**
 * The global id of the template `templateByIdQuery` reads, as a subquery: a write aimed with it hits
 * the template that read shows, whichever of its ids the caller used.
 */
export function templateIdQuery(db: Database, viewer: string | null, templateId: string) {
  const { where, first } = named(viewer, templateId);
  return db.select({ id: taskTemplates.id }).from(taskTemplates).where(where).orderBy(first).limit(1);
}

/** A page of the templates the viewer may read, in the order of the template_id the viewer sees. */
export async function listTemplates(
  db: Database,
  viewer: string | null,
  query: ListTemplatesQuery,
  after: string | null,
): Promise<Page<TemplateDto>> {
  const key = idSeenBy(viewer);
  const conditions: (SQL | undefined)[] = [
    query.mine ? (viewer ? eq(taskTemplates.userId, viewer) : sql`0`) : visibleTo(viewer),
  ];
  if (after) {
    const [afterKey = "", afterId = ""] = after.split(" ");
    conditions.push(
      sql`(${key} > ${afterKey} OR (${key} = ${afterKey} AND ${taskTemplates.id} > ${afterId}))`,
    );
  }
  if (query.category) conditions.push(eq(taskTemplates.category, query.category));
  if (query.q) {
    // instr, not LIKE: D1 refuses LIKE patterns over 50 bytes, and a search needs no wildcards.
    conditions.push(sql`instr(lower(${taskTemplates.name}), ${query.q.toLowerCase()}) > 0`);
  }
  const rows = await db
    .select(withSteps)
    .from(taskTemplates)
    .where(and(...conditions))
    .orderBy(asc(key), asc(taskTemplates.id))
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(
    rows,
    query.limit,
    (row) => toTemplateDto(row, viewer),
    (row, item) => `${item.template_id} ${row.template.id}`,
  );
}

/**
 * The caller's own template, else a platform one, named exactly like `name` (any letter case): a task
 * called "Clean the kitchen" is split by the "Clean the kitchen" template. Public templates of other
 * users are left out so the lookup stays on the user_id index.
 */
export function templateByNameQuery(db: Database, viewer: string | null, name: string | SQL) {
  return db
    .select(withSteps)
    .from(taskTemplates)
    .where(
      and(
        // An agent's token (viewer null) reads platform templates only, as in the templates API.
        viewer
          ? or(eq(taskTemplates.userId, viewer), sql`${taskTemplates.userId} IS NULL`)
          : sql`${taskTemplates.userId} IS NULL`,
        sql`lower(${taskTemplates.name}) = lower(trim(${name}))`,
      ),
    )
    .orderBy(sql`${taskTemplates.userId} IS NULL`)
    .limit(1);
}

type TemplateStepRow = typeof templateSteps.$inferSelect;

/** Columns of a template_steps row: a bulk insert fits 100 / 8 = 12 rows per statement. */
const STEP_COLUMNS = 8;

/** The rows for a template's steps, numbered from 1 in the order given, defaults filled in. */
export function templateStepRows(
  templateId: string,
  steps: TemplateStepInput[],
  now: number,
): TemplateStepRow[] {
  return steps.map((step, i) => ({
    id: newId(now),
    templateId,
    position: i + 1,
    description: step.description,
    shortLabel: step.short_label ?? null,
    estimatedMinutes: step.estimated_minutes ?? DEFAULT_STEP_MINUTES,
    leafType: step.leaf_type ?? "HUMAN",
    icon: step.icon ?? null,
  }));
}

export function insertTemplateStepStatements(db: Database, rows: TemplateStepRow[]) {
  return chunkRows(rows, STEP_COLUMNS).map((chunk) => db.insert(templateSteps).values(chunk));
}

export function templateStepRowToDto(row: TemplateStepRow): StoredTemplateStep {
  return {
    step_id: row.id,
    position: row.position,
    description: row.description,
    short_label: row.shortLabel,
    estimated_minutes: row.estimatedMinutes,
    leaf_type: row.leafType,
    icon: row.icon,
  };
}
