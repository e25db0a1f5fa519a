import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { Env } from "../../env";
import { jwtConfig } from "../../lib/auth/config";
import { type AccessClaims, signJwt, verifyJwt } from "../../lib/auth/jwt";
import { ALL_SCOPES, type Principal, type Scope } from "../../lib/auth/principal";
import { ApiError, validationFailed } from "../../lib/errors";
import type { IdempotencyContext } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { STREAK_LOOKBACK_DAYS } from "../../lib/streaks";
import { addDays, daysBetween, type LocalDate, localParts } from "../../lib/time";
import { type FocusAnalytics, focusAnalytics } from "./analytics";
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

/** What a ticket carries besides the usual claims: the scopes and credential of whoever asked for it. */
const TicketClaimsSchema = z.object({
  scope: z.string(),
  ckind: z.enum(["session", "api_token", "agent"]),
  cexp: z.number().nullable(),
});

export async function issueSocketTicket(env: Env, principal: Principal): Promise<string> {
  const config = jwtConfig(env);
  const iat = Math.floor(Date.now() / 1000);
  const claims: AccessClaims & z.infer<typeof TicketClaimsSchema> = {
    sub: principal.userId,
    iss: config.issuer,
    aud: ticketAudience(config.audience),
    iat,
    exp: iat + TICKET_TTL_SECONDS,
    jti: newId(),
    sid: principal.credentialId,
    scope: [...principal.scopes].join(" "),
    ckind: principal.kind,
    cexp: principal.expiresAt ?? null,
  };
  return signJwt(claims, config.secret);
}

/** The caller a ticket stands for, or undefined when it is forged, for elsewhere or expired. */
export async function readSocketTicket(
  env: Env,
  ticket: string,
): Promise<{ principal: Principal; jti: string; expiresAt: number } | undefined> {
  const config = jwtConfig(env);
  const result = await verifyJwt(ticket, { ...config, audience: ticketAudience(config.audience) });
  if (!result.ok) return undefined;
  const extra = TicketClaimsSchema.safeParse(result.claims);
  if (!extra.success) return undefined;
  const scopes = new Set(extra.data.scope.split(" ").filter((s): s is Scope => ALL_SCOPES.has(s as Scope)));
  return {
    principal: {
      userId: result.claims.sub,
      kind: extra.data.ckind,
      credentialId: result.claims.sid,
      scopes,
      ...(extra.data.cexp !== null ? { expiresAt: extra.data.cexp } : {}),
    },
    jti: result.claims.jti,
    expiresAt: result.claims.exp * 1000,
  };
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
