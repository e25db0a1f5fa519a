/**
 * REST Hooks, the subscription shape Zapier and Make speak: a subscription is a webhook of one event
 * type (source `rest_hook`), signed and logged like any other, listed among the account's webhooks and
 * counted in their cap. Subscribing the same target to the same event again answers the same hook,
 * so a tool that retries its subscribe call does not get every event twice.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { events, webhooks } from "../../db/schema";
import type { Env } from "../../env";
import { notFound } from "../../lib/errors";
import { type EventType, publishedData } from "../../lib/events/catalog";
import { nowIso } from "../../lib/time";
import { checkWebhookUrl } from "../../lib/webhooks/safe-url";
import { exampleData } from "../events/service";
import type { HookDto, HookInput, SampleDto } from "./hooks-schemas";
import { forgetDeliveries } from "./queries";
import { allowsLocalReceivers, createWebhook } from "./service";

const toHookDto = (row: { id: string; url: string; eventTypes: string[]; createdAt: string }): HookDto => ({
  id: row.id,
  target_url: row.url,
  event: row.eventTypes[0] ?? "*",
  created_at: row.createdAt,
});

export async function subscribeHook(
  db: Database,
  env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">,
  userId: string,
  input: HookInput,
): Promise<HookDto> {
  const checked = checkWebhookUrl(input.target_url, { allowLocal: allowsLocalReceivers(env) });
  if (checked.ok) {
    const same = await db
      .select()
      .from(webhooks)
      .where(
        and(
          eq(webhooks.userId, userId),
          eq(webhooks.source, "rest_hook"),
          eq(webhooks.url, checked.url.toString()),
          sql`${webhooks.eventTypes} = ${JSON.stringify([input.event])}`,
        ),
      )
      .get();
    if (same?.enabled) return toHookDto(same);
    if (same) {
      // Subscribing again is the tool saying it is back: the hook is re-enabled, its count started afresh.
      await db
        .update(webhooks)
        .set({
          enabled: true,
          disabledReason: null,
          consecutiveFailures: 0,
          failingSince: null,
          updatedAt: nowIso(),
        })
        .where(eq(webhooks.id, same.id))
        .run();
      return toHookDto(same);
    }
  }
  const hook = await createWebhook(
    db,
    env,
    userId,
    { url: input.target_url, event_types: [input.event], description: `REST hook: ${input.event}` },
    { source: "rest_hook", urlField: "target_url" },
  );
  return { id: hook.webhook_id, target_url: hook.url, event: input.event, created_at: hook.created_at };
}

export async function unsubscribeHook(db: Database, userId: string, id: string): Promise<void> {
  const [gone] = await db.batch([
    db
      .delete(webhooks)
      .where(and(eq(webhooks.userId, userId), eq(webhooks.id, id), eq(webhooks.source, "rest_hook")))
      .returning({ id: webhooks.id }),
    ...forgetDeliveries(db, userId, id),
  ]);
  if (gone.length === 0) throw notFound("Hook");
}

/** How far back samples look among the user's events: enough for any active account, bounded for any. */
const SAMPLE_WINDOW = 1000;
export const MAX_SAMPLES = 3;

/**
 * The user's latest events of this type as deliveries carry them (plus an `id`, which no-code tools
 * deduplicate on), or one example made from the catalog's schema when there are none yet.
 */
export async function samplesOf(db: Database, userId: string, type: EventType): Promise<SampleDto[]> {
  const recent = db
    .select({
      id: events.id,
      type: events.type,
      version: events.version,
      data: events.data,
      occurredAt: events.occurredAt,
    })
    .from(events)
    .where(eq(events.userId, userId))
    .orderBy(desc(events.id))
    .limit(SAMPLE_WINDOW)
    .as("recent");
  const rows = await db
    .select()
    .from(recent)
    .where(eq(recent.type, type))
    .orderBy(desc(recent.id))
    .limit(MAX_SAMPLES)
    .all();
  if (rows.length > 0)
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      timestamp: r.occurredAt,
      data: publishedData(r.type, r.version, r.data) as Record<string, unknown>,
    }));
  const now = new Date().toISOString();
  return [{ id: "sample", type, timestamp: now, data: exampleData(type, now) }];
}
