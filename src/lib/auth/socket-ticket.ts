import { z } from "@hono/zod-openapi";
import { newId } from "../ids";
import { type JwtVars, jwtConfig } from "./config";
import { type AccessClaims, signJwt, verifyJwt } from "./jwt";
import { ALL_SCOPES, type Principal, type Scope } from "./principal";

/** A WebSocket ticket lives this long and opens one connection (the object remembers used ones). */
export const TICKET_TTL_SECONDS = 60;

/** A ticket is good for one channel only: its audience names the channel. */
const ticketAudience = (audience: string, channel: string) => `${audience}#${channel}-socket`;

/** What a ticket carries besides the usual claims: the scopes and credential of whoever asked for it. */
const TicketClaimsSchema = z.object({
  scope: z.string(),
  ckind: z.enum(["session", "api_token", "agent"]),
  cexp: z.number().nullable(),
});

export async function issueSocketTicket(
  env: JwtVars,
  channel: string,
  principal: Principal,
): Promise<string> {
  const config = jwtConfig(env);
  const iat = Math.floor(Date.now() / 1000);
  const claims: AccessClaims & z.infer<typeof TicketClaimsSchema> = {
    sub: principal.userId,
    iss: config.issuer,
    aud: ticketAudience(config.audience, channel),
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

/** The caller a ticket stands for, or undefined when it is forged, for another channel, or expired. */
export async function readSocketTicket(
  env: JwtVars,
  channel: string,
  ticket: string,
): Promise<{ principal: Principal; jti: string; expiresAt: number } | undefined> {
  const config = jwtConfig(env);
  const result = await verifyJwt(ticket, { ...config, audience: ticketAudience(config.audience, channel) });
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
