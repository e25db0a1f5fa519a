import { sql } from "drizzle-orm";
import type { Database } from "../../db";
import { webhooks } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { type Page, pageOf } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { checkWebhookUrl } from "../../lib/webhooks/safe-url";
import { newWebhookSecret } from "../../lib/webhooks/signature";
import {
  forgetDeliveries,
  listWebhooksQuery,
  literalRow,
  ownWebhook,
  toWebhookDto,
  type WebhookRow,
} from "./queries";
import type { CreateWebhookInput, UpdateWebhookInput, WebhookDto } from "./schemas";

/** Endpoints per account: plenty for a person's tools, a wall against fan-out abuse. */
export const MAX_WEBHOOKS = 20;
/** After a rotation the old secret signs beside the new one this long, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** Local receivers (http://127.0.0.1:<port>) only where wrangler.toml says so: never in production. */
export const allowsLocalReceivers = (env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">) =>
  env.WEBHOOKS_ALLOW_LOCAL === "true";

function safeUrl(env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">, url: string, field = "url"): string {
  const checked = checkWebhookUrl(url, { allowLocal: allowsLocalReceivers(env) });
  if (!checked.ok) throw validationFailed([{ field, message: checked.reason }], checked.reason);
  return checked.url.toString();
}

export interface CreateOptions {
  source?: WebhookRow["source"];
  /** The request field holding the URL, for the 422 (REST hooks call it `target_url`). */
  urlField?: string;
}

export async function createWebhook(
  db: Database,
  env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">,
  userId: string,
  input: CreateWebhookInput,
  options: CreateOptions = {},
): Promise<WebhookDto & { secret: string }> {
  const url = safeUrl(env, input.url, options.urlField);
  const now = nowIso();
  const row: WebhookRow = {
    id: newId(),
    userId,
    url,
    description: input.description ?? null,
    eventTypes: input.event_types.includes("*") ? ["*"] : [...input.event_types],
    secret: newWebhookSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    enabled: true,
    disabledReason: null,
    source: options.source ?? "api",
    consecutiveFailures: 0,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  // The cap is counted inside the insert, so two creations at once cannot both slip under it.
  const written = await db
    .insert(webhooks)
    .select(
      db
        .select(literalRow(row))
        .from(sql`(SELECT 1)`)
        .where(
          sql`(SELECT count(*) FROM ${webhooks} WHERE ${webhooks.userId} = ${userId}) < ${MAX_WEBHOOKS}`,
        ),
    )
    .returning({ id: webhooks.id });
  if (written.length === 0) {
    throw new ApiError(
      409,
      "too_many_webhooks",
      `An account may have at most ${MAX_WEBHOOKS} webhooks; delete one first.`,
    );
  }
  return { ...toWebhookDto(row), secret: row.secret };
}

export async function listWebhooks(
  db: Database,
  userId: string,
  limit: number,
  afterId: string | null,
): Promise<Page<WebhookDto>> {
  const rows = await listWebhooksQuery(db, userId, limit, afterId).all();
  return pageOf(rows, limit, toWebhookDto, (row) => row.id);
}

export async function getWebhook(db: Database, userId: string, id: string): Promise<WebhookDto> {
  const row = await db.select().from(webhooks).where(ownWebhook(userId, id)).get();
  if (!row) throw notFound("Webhook");
  return toWebhookDto(row);
}

export async function updateWebhook(
  db: Database,
  env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">,
  userId: string,
  id: string,
  input: UpdateWebhookInput,
): Promise<WebhookDto> {
  const url = input.url === undefined ? undefined : safeUrl(env, input.url);
  const [row] = await db
    .update(webhooks)
    .set({
      url,
      description: input.description,
      eventTypes:
        input.event_types === undefined
          ? undefined
          : input.event_types.includes("*")
            ? ["*"]
            : [...input.event_types],
      enabled: input.enabled,
      // Re-enabling clears why it was off; pausing records that its owner did it.
      disabledReason: input.enabled === undefined ? undefined : input.enabled ? null : "Paused by its owner.",
      // Re-enabled, it starts its failure count afresh (or it would be disabled again at once).
      ...(input.enabled === true ? { consecutiveFailures: 0, failingSince: null } : {}),
      updatedAt: nowIso(),
    })
    .where(ownWebhook(userId, id))
    .returning();
  if (!row) throw notFound("Webhook");
  return toWebhookDto(row);
}

/** Deletes the webhook with its deliveries and their log; queued messages for it find nothing and are dropped. */
export async function deleteWebhook(db: Database, userId: string, id: string): Promise<void> {
  const [rows] = await db.batch([
    db.delete(webhooks).where(ownWebhook(userId, id)).returning({ id: webhooks.id }),
    ...forgetDeliveries(db, userId, id),
  ]);
  if (rows.length === 0) throw notFound("Webhook");
}

/** A new secret, shown once; the current one keeps signing beside it for ROTATION_OVERLAP_MS. */
export async function rotateSecret(
  db: Database,
  userId: string,
  id: string,
): Promise<WebhookDto & { secret: string }> {
  const now = Date.now();
  const secret = newWebhookSecret();
  const [row] = await db
    .update(webhooks)
    .set({
      previousSecret: sql`${webhooks.secret}`,
      previousSecretExpiresAt: nowIso(now + ROTATION_OVERLAP_MS),
      secret,
      updatedAt: nowIso(now),
    })
    .where(ownWebhook(userId, id))
    .returning();
  if (!row) throw notFound("Webhook");
  return { ...toWebhookDto(row), secret };
}

/** The secrets a delivery is signed with now: the current one, and the previous one while it overlaps. */
export function secretsInForce(
  row: { secret: string; previousSecret: string | null; previousSecretExpiresAt: string | null },
  now = Date.now(),
): string[] {
  const previousHolds =
    row.previousSecret !== null &&
    row.previousSecretExpiresAt !== null &&
    Date.parse(row.previousSecretExpiresAt) > now;
  return previousHolds && row.previousSecret ? [row.secret, row.previousSecret] : [row.secret];
}
