import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { Env } from "../../env";
import { jwtConfig } from "../../lib/auth/config";
import { signJwt, verifyJwt } from "../../lib/auth/jwt";
import { ApiError, validationFailed } from "../../lib/errors";
import type { IdempotencyContext } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { addDays, type LocalDate, localParts } from "../../lib/time";
import { type FocusAnalytics, focusAnalytics, STREAK_LOOKBACK_DAYS } from "./analytics";
import type { FocusCommand } from "./commands";
import type { FocusSettings } from "./kinds";
import type { ActionError } from "./machine";
import { sessionFactsQuery } from "./records";
import type { FocusStateDto } from "./schemas";

/** The user's FocusTimer Durable Object. */
export function focusTimer(env: Env, userId: string) {
  return env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId));
}

export function toApiError(error: ActionError): ApiError {
  if (error.status === 422 && error.field) {
    const message = error.detail.replace(`${error.field}: `, "").replace(/\.$/, "");
    return validationFailed([{ field: error.field, message }], error.detail);
  }
  return new ApiError(error.status, error.code, error.detail);
}

/** Sends a command to the user's timer; its refusals become the API's problem responses. */
export async function runCommand(
  env: Env,
  userId: string,
  command: FocusCommand,
  idempotency?: IdempotencyContext,
): Promise<{ status: 200 | 201; state: FocusStateDto; replayed: boolean }> {
  const result = await focusTimer(env, userId).act(userId, command, idempotency);
  if (!result.ok) throw toApiError(result.error);
  return result;
}

/** The user's focus settings, kept by their timer. */
export async function settingsOf(env: Env, userId: string): Promise<FocusSettings> {
  const result = await focusTimer(env, userId).readSettings(userId);
  if (!result.ok) throw toApiError(result.error);
  return result.settings;
}

export async function changeSettings(
  env: Env,
  userId: string,
  patch: Partial<FocusSettings>,
): Promise<FocusSettings> {
  const result = await focusTimer(env, userId).changeSettings(userId, patch);
  if (!result.ok) throw toApiError(result.error);
  return result.settings;
}

/** A WebSocket ticket lives this long and opens one connection (the timer remembers used ones). */
export const TICKET_TTL_SECONDS = 60;
const ticketAudience = (audience: string) => `${audience}#focus-socket`;

export async function issueSocketTicket(env: Env, userId: string, sessionId: string) {
  const config = jwtConfig(env);
  const iat = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      sub: userId,
      iss: config.issuer,
      aud: ticketAudience(config.audience),
      iat,
      exp: iat + TICKET_TTL_SECONDS,
      jti: newId(),
      sid: sessionId,
    },
    config.secret,
  );
}

/** The user and ticket id behind a ticket, or undefined when it is forged, for elsewhere or expired. */
export async function readSocketTicket(env: Env, ticket: string) {
  const config = jwtConfig(env);
  const result = await verifyJwt(ticket, { ...config, audience: ticketAudience(config.audience) });
  if (!result.ok) return undefined;
  return { userId: result.claims.sub, jti: result.claims.jti, expiresAt: result.claims.exp * 1000 };
}

/** Longest range the analytics answer for at once. */
export const MAX_ANALYTICS_DAYS = 366;
const DEFAULT_ANALYTICS_DAYS = 30;

const daysBetween = (from: LocalDate, to: LocalDate) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

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
  if (query.from && query.to) {
    if (query.from > query.to) throw validationFailed([{ field: "from", message: "Must not be after `to`" }]);
    if (daysBetween(query.from, query.to) >= MAX_ANALYTICS_DAYS) {
      throw validationFailed([
        { field: "from", message: `The range may span at most ${MAX_ANALYTICS_DAYS} days` },
      ]);
    }
  }
  const utcToday = new Date(now).toISOString().slice(0, 10);
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
  if (from > to) throw validationFailed([{ field: "from", message: "Must not be after `to`" }]);
  return focusAnalytics(facts, { timezone, now, from, to });
}
