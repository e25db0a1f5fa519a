import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Env } from "../env";
import type { AppEnv } from "../lib/create-app";
import { ApiError } from "../lib/errors";

/** The limiters of wrangler.toml [[ratelimits]], with the period each counts over (for Retry-After). */
export const LIMITERS = {
  WRITE_LIMITER: { periodSeconds: 10, what: "changes" },
  AI_LIMITER: { periodSeconds: 60, what: "AI requests" },
  IMPORT_LIMITER: { periodSeconds: 60, what: "import uploads" },
  AUTH_LIMITER: { periodSeconds: 60, what: "sign-in attempts from this address" },
  REFRESH_LIMITER: { periodSeconds: 60, what: "token refreshes from this address" },
} as const satisfies Partial<Record<keyof Env, { periodSeconds: number; what: string }>>;

export type LimiterName = keyof typeof LIMITERS;

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
export const isWrite = (method: string) => WRITE_METHODS.has(method.toUpperCase());

/** The address a request came from, as Cloudflare's edge reports it. */
export const clientAddress = (c: Context<AppEnv>) => c.req.header("cf-connecting-ip") ?? "unknown";

/** Counts one request against `limiter` under `key`; 429 with Retry-After once the limit is reached. */
export async function enforceLimit(env: Env, limiter: LimiterName, key: string): Promise<void> {
  const { success } = await env[limiter].limit({ key });
  if (success) return;
  const { periodSeconds, what } = LIMITERS[limiter];
  throw new ApiError(429, "rate_limited", `Too many ${what}; try again in ${periodSeconds} seconds.`, {
    headers: { "Retry-After": String(periodSeconds) },
  });
}

/**
 * A route's rate limit: `key` picks what is counted (the caller's user id, the client address).
 * Runs after authentication when the key needs the principal.
 */
export function rateLimit(limiter: LimiterName, key: (c: Context<AppEnv>) => string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await enforceLimit(c.env, limiter, key(c));
    await next();
  });
}

/** Limits per signed-in user (put after requireAuth). */
export const perUser = (limiter: LimiterName) => rateLimit(limiter, (c) => `user:${c.var.principal.userId}`);

/** Limits per client address (for routes without a credential: register, login, refresh). */
export const perAddress = (limiter: LimiterName) => rateLimit(limiter, (c) => `address:${clientAddress(c)}`);
