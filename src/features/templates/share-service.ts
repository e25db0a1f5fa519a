import { sql } from "drizzle-orm";
import type { Database } from "../../db";
import { abortIf, D1Batch, isGuardAbort } from "../../lib/batch";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { type IdempotencyContext, writeOnce } from "../../lib/idempotency";
import { nowIso } from "../../lib/time";
import { shareInfoOf, templateByIdQuery, toTemplateDto } from "./queries";
import type { TemplateDto } from "./schemas";
import { type CreatedTemplate, stepInputOf, templateWrite } from "./service";
import { newShareCode } from "./share-code";
import {
  recordUseStatements,
  revokeShareStatement,
  shareUpsertStatement,
  syncListedStatement,
  templateByCodeQuery,
} from "./share-queries";
import type { TemplateShareDto } from "./share-schemas";

/** A fresh code is tried again when it happens to equal another template's (one chance in 2^50). */
const CODE_ATTEMPTS = 3;

const templateNotFound = () => notFound("Template");

const unknownCode = () =>
  new ApiError(
    404,
    "not_found",
    "No template is shared under this code; check it, or ask for a new one (codes can be revoked).",
  );

export interface ShareOutcome {
  /** 201 when this request made the code, 200 when the template already had it. */
  status: 200 | 201;
  body: TemplateShareDto;
}

/**
 * The template's share code, made on first use: by its owner for their own template (private or
 * public), by anyone for a built-in one. Someone else's public template answers its code when its
 * owner shared one, 403 otherwise; a template the caller cannot read is 404.
 *
 * One round trip: the upsert and a read of the template run in one batch, and both find the template
 * by the same rule (templateIdQuery), so the owner may name it by either of its ids.
 */
export async function shareTemplate(
  db: Database,
  userId: string,
  templateId: string,
  input: { listed?: boolean },
): Promise<ShareOutcome> {
  for (let attempt = 1; ; attempt++) {
    const code = newShareCode();
    const batch = new D1Batch();
    const upserted = batch.add(shareUpsertStatement(db, userId, templateId, code, input.listed, nowIso()));
    batch.add(syncListedStatement(db, userId, templateId));
    const read = batch.add(templateByIdQuery(db, userId, templateId));
    let results: readonly unknown[];
    try {
      results = await batch.run(db);
    } catch (error) {
      if (attempt < CODE_ATTEMPTS && isUniqueViolation(error)) continue;
      throw error;
    }
    const row = read(results)[0];
    if (!row) throw templateNotFound();
    // The caller's own template or a built-in one now has a code; anyone else's only if its owner made one.
    const share = shareInfoOf(row.share);
    if (!share) {
      throw new ApiError(
        403,
        "not_template_owner",
        "Only the person who made this template can share it by code; it is public, so you can apply it by its id.",
      );
    }
    const status = upserted(results)[0]?.code === code ? 201 : 200;
    return { status, body: { ...share, template_id: toTemplateDto(row, userId).template_id } };
  }
}

/**
 * Retires the active code of the caller's own template: importing it answers 404 from now on, and
 * sharing again makes a new one. Nothing to retire is fine (204 again). The write and the read that
 * decides the answer find the template by the same rule, so a 204 means the code is gone.
 */
export async function revokeShare(db: Database, userId: string, templateId: string): Promise<void> {
  const batch = new D1Batch();
  batch.add(revokeShareStatement(db, userId, templateId));
  batch.add(syncListedStatement(db, userId, templateId));
  const read = batch.add(templateByIdQuery(db, userId, templateId));
  const row = read(await batch.run(db))[0];
  if (!row) throw templateNotFound();
  if (row.template.userId === null) {
    throw new ApiError(
      403,
      "not_template_owner",
      "Built-in templates keep their code for everyone; it cannot be revoked.",
    );
  }
  if (row.template.userId !== userId) {
    throw new ApiError(
      403,
      "not_template_owner",
      "Only the person who made this template can revoke its code.",
    );
  }
}

/**
 * Copies the template shared under `code` into the caller's templates: a new private template with
 * its own id and the same steps, independent of the source from then on. A use is counted on the
 * source once per person other than its owner.
 *
 * Two round trips: the code is read (with the Idempotency-Key's stored answer, in parallel), then one
 * batch checks the code is still active, writes the copy and counts the use.
 */
export async function importTemplate(
  db: Database,
  userId: string,
  code: string,
  idempotency?: IdempotencyContext,
): Promise<CreatedTemplate> {
  return writeOnce(
    db,
    userId,
    idempotency,
    (row) => {
      if (!row) throw unknownCode();
      const source: TemplateDto = toTemplateDto(row, null);
      const batch = new D1Batch();
      // Revoked (or deleted) since the read: nothing is written.
      batch.add(
        abortIf(
          db,
          sql`NOT EXISTS (SELECT 1 FROM template_shares WHERE code = ${code} AND template_id = ${row.template.id})`,
        ),
      );
      const write = templateWrite(
        db,
        userId,
        {
          name: source.name,
          description: source.description,
          category: source.category,
          icon: source.icon,
          is_public: false,
          steps: source.steps.map(stepInputOf),
        },
        batch,
      );
      // The owner taking a copy of their own template is not a use.
      if (row.template.userId !== userId) {
        batch.addAll(recordUseStatements(db, row.template.id, userId, nowIso()));
      }
      return { ...write, failure: (error: unknown) => (isGuardAbort(error) ? unknownCode() : error) };
    },
    () => templateByCodeQuery(db, code).get(),
  );
}
