/**
 * Energy check-ins: the row and its `energy.logged` event in one batch (the rollups and the energy
 * models learn from the event), and the user's own list of them.
 */
import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { energyCheckins } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { writeEvent } from "../../lib/events/outbox";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { addDays, type LocalDate, nowIso, startOfLocalDay } from "../../lib/time";
import { checkOrder } from "./ranges";
import type { CreateEnergyCheckinInput, EnergyCheckinDto } from "./schemas";
import { timezoneOf } from "./service";

/** A check-in may be said a little early (clock skew) and up to a week late, not more. */
export const MAX_AHEAD_MS = 5 * 60_000;
export const MAX_BACK_MS = 7 * 24 * 3_600_000;

/** When the check-in was felt: `at`, or now; 422 naming `at` outside [now − 7 days, now + 5 minutes]. */
export function checkinTime(at: string | undefined, now: number): string {
  if (at === undefined) return nowIso(now);
  const t = Date.parse(at);
  if (t > now + MAX_AHEAD_MS)
    throw validationFailed(
      [{ field: "at", message: "Must not be more than 5 minutes in the future" }],
      "at is more than 5 minutes in the future; a check-in says how you feel now or felt earlier.",
    );
  if (t < now - MAX_BACK_MS)
    throw validationFailed(
      [{ field: "at", message: "Must not be more than 7 days ago" }],
      "at is more than 7 days ago; check-ins can be added up to a week late.",
    );
  return nowIso(t);
}

export async function createCheckin(
  db: Database,
  userId: string,
  input: CreateEnergyCheckinInput,
  idempotency?: IdempotencyContext,
): Promise<WriteOutcome<EnergyCheckinDto, Envelope>> {
  const now = Date.now();
  // `at` is checked only for a new write: a retry of a stored one replays its answer, however late.
  return writeOnce(db, userId, idempotency, () => {
    const at = checkinTime(input.at, now);
    const id = newId(now);
    const createdAt = nowIso(now);
    const event = newEvent("energy.logged", userId, { checkin_id: id, level: input.level, at }, now);
    const batch = new D1Batch();
    batch.add(db.insert(energyCheckins).values({ id, userId, level: input.level, at, createdAt }));
    batch.add(writeEvent(db, event));
    return {
      status: 201,
      batch,
      body: { checkin_id: id, level: input.level, at, created_at: createdAt },
      events: [event],
    };
  });
}

/** A check-in list's cursor: the last one's time and id. */
export const CHECKIN_CURSOR = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z~[0-9a-f-]{36}$/;

/** The user's check-ins, newest first (by when they were felt), within local days when asked. */
export async function listCheckins(
  db: Database,
  userId: string,
  query: { from?: LocalDate | undefined; to?: LocalDate | undefined; limit: number },
  after: string | null,
): Promise<Page<EnergyCheckinDto>> {
  checkOrder(query.from, query.to);
  const conditions: (SQL | undefined)[] = [eq(energyCheckins.userId, userId)];
  if (query.from !== undefined || query.to !== undefined) {
    // Local days need the user's time zone: the one extra round trip, only when a day bound is asked.
    const timezone = await timezoneOf(db, userId);
    if (query.from !== undefined)
      conditions.push(gte(energyCheckins.at, new Date(startOfLocalDay(timezone, query.from)).toISOString()));
    if (query.to !== undefined)
      conditions.push(
        lt(energyCheckins.at, new Date(startOfLocalDay(timezone, addDays(query.to, 1))).toISOString()),
      );
  }
  if (after) {
    const split = after.indexOf("~");
    conditions.push(
      sql`(${energyCheckins.at}, ${energyCheckins.id}) < (${after.slice(0, split)}, ${after.slice(split + 1)})`,
    );
  }
  const rows = await db
    .select()
    .from(energyCheckins)
    .where(and(...conditions))
    .orderBy(desc(energyCheckins.at), desc(energyCheckins.id))
    .limit(rowsToFetch(query.limit));
  return pageOf(
    rows,
    query.limit,
    (r) => ({ checkin_id: r.id, level: r.level, at: r.at, created_at: r.createdAt }),
    (r) => `${r.at}~${r.id}`,
  );
}
