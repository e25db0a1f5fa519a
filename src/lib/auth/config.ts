import type { Env } from "../../env";
import type { JwtConfig } from "./jwt";

const MIN_SECRET_LENGTH = 32;

export type JwtVars = Pick<Env, "JWT_SECRET" | "JWT_ISSUER" | "JWT_AUDIENCE">;

/** JWT settings from the environment; refuses to run with a missing or short signing secret. */
export function jwtConfig(env: JwtVars): JwtConfig {
  if (!env.JWT_SECRET || env.JWT_SECRET.length < MIN_SECRET_LENGTH) {
    throw new Error(`JWT_SECRET must be set to at least ${MIN_SECRET_LENGTH} characters.`);
  }
  return { secret: env.JWT_SECRET, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
}

export const accessTokenTtlSeconds = (env: Pick<Env, "ACCESS_TOKEN_TTL_SECONDS">) =>
  positiveInt(env.ACCESS_TOKEN_TTL_SECONDS, 900);
export const refreshTokenTtlDays = (env: Pick<Env, "REFRESH_TOKEN_TTL_DAYS">) =>
  positiveInt(env.REFRESH_TOKEN_TTL_DAYS, 30);

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
