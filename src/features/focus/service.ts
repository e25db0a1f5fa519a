import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { IdempotencyContext } from "../../lib/idempotency";
import { accepted, refusalError } from "../../lib/live-refusal";
import { STREAK_LOOKBACK_DAYS } from "../../lib/streaks";
import { addDays, daysBetween, type LocalDate, localParts } from "../../lib/time";
import { retryingStub } from "../../lib/transient";
import { type FocusAnalytics, focusAnalytics } from "./analytics";
import type { FocusSettings } from "./kinds";
import type { FocusCommand, FocusStateDto } from "./protocol";
import { getRecord, sessionFactsQuery } from "./queries";

/** Timer calls safe to send twice: reads, a settings patch, and actions carrying an idempotency key. */
const TIMER_IDEMPOTENT = new Set(["current", "readSettings", "changeSettings", "erase"]);

/** The user's FocusTimer Durable Object. */
export function focusTimer(env: Env, userId: string) {
  return retryingStub(
    env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)),
    (method, args) => TIMER_IDEMPOTENT.has(method) || (method === "act" && args[2] !== undefined),
  );
}

/** Erases the user's live timer (its account is being deleted): sockets closed, storage emptied. */
export async function eraseFocusTimer(env: Env, userId: string): Promise<void> {
  await focusTimer(env, userId).erase();
}

/** Sends a command to the user's timer; its refusals become the API's problem responses. */
export async function runCommand(
  env: Env,
  userId: string,
  command: FocusCommand,
  idempotency?: IdempotencyContext,
): Promise<{ status: 200 | 201; state: FocusStateDto; replayed: boolean }> {
  return accepted(await focusTimer(env, userId).act(userId, command, idempotency));
}

/** Refusals that mean "this is not the running session": then it ended already, or never was. */
const NOT_CURRENT = new Set(["session_mismatch", "no_focus_session", "on_break"]);

/**
 * Ends the running session `sessionId` (a finish or an abandon naming it). Any other session is
 * answered for itself rather than with the timer's refusal: one that ended already is a conflict, one
 * the user never had is missing.
 */
export async function endRunningSession(
  env: Env,
  db: Database,
  userId: string,
  sessionId: string,
  command: FocusCommand,
  idempotency?: IdempotencyContext,
): Promise<{ status: 200 | 201; state: FocusStateDto; replayed: boolean }> {
  const answer = await focusTimer(env, userId).act(userId, command, idempotency);
  if (answer.ok) return answer;
  if (!NOT_CURRENT.has(answer.error.code)) throw refusalError(answer.error);
  if (await getRecord(db, userId, sessionId)) {
    throw new ApiError(409, "session_ended", "That focus session has already ended.");
  }
  throw notFound("Focus session");
}

/** The user's focus settings, kept by their timer. */
/** The live state, after recording anything that fell due. */
export async function currentState(env: Env, userId: string): Promise<FocusStateDto> {
  return accepted(await focusTimer(env, userId).current(userId)).state;
}

export async function settingsOf(env: Env, userId: string): Promise<FocusSettings> {
  return accepted(await focusTimer(env, userId).readSettings(userId)).settings;
}

export async function changeSettings(
  env: Env,
  userId: string,
  patch: Partial<FocusSettings>,
): Promise<FocusSettings> {
  return accepted(await focusTimer(env, userId).changeSettings(userId, patch)).settings;
}

/** Longest range the analytics answer for at once. */
export const MAX_ANALYTICS_DAYS = 366;
const DEFAULT_ANALYTICS_DAYS = 30;

/**
 * Focus analytics in one D1 round trip: the user's time zone and every session since the earlier of
 * the range's start and a year back (the streak looks that far). A day of slack on each side covers
 * any time zone, since local days are only known once the zone is.
 */
export async function analyticsFor(
  db: Database,
  userId: string,
  query: { from?: LocalDate | undefined; to?: LocalDate | undefined },
  now = Date.now(),
): Promise<FocusAnalytics> {
  const utcToday = new Date(now).toISOString().slice(0, 10);
  // Checked before reading (with today in UTC standing in for a missing `to`), and again once the
  // user's own today is known.
  checkRange(query.from, query.to ?? utcToday);
  const earliest = query.from ?? addDays(query.to ?? utcToday, -DEFAULT_ANALYTICS_DAYS);
  const lookback = addDays(utcToday, -(STREAK_LOOKBACK_DAYS + 1));
  // ISO dates sort as text.
  const [first = earliest] = [earliest, lookback].sort();
  const since = `${addDays(first, -1)}T00:00:00.000Z`;
  const [owner, facts] = await db.batch([
    db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)),
    sessionFactsQuery(db, userId, since),
  ]);
  const timezone = owner[0]?.timezone ?? "UTC";
  const to = query.to ?? localParts(timezone, now).date;
  const from = query.from ?? addDays(to, 1 - DEFAULT_ANALYTICS_DAYS);
  checkRange(from, to);
  return focusAnalytics(facts, { timezone, now, from, to });
}

function checkRange(from: LocalDate | undefined, to: LocalDate): void {
  if (from === undefined) return;
  if (from > to) throw validationFailed([{ field: "from", message: "Must not be after `to`" }]);
  if (daysBetween(from, to) >= MAX_ANALYTICS_DAYS) {
    throw validationFailed([
      { field: "from", message: `The range may span at most ${MAX_ANALYTICS_DAYS} days` },
    ]);
  }
}
