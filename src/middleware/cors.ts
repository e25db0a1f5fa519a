import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { commaList } from "../lib/comma-list";
import type { AppEnv } from "../lib/create-app";
import { REPLAYED_HEADER } from "../lib/idempotency";
import { BOOKMARK_HEADER } from "./database";

/** CORS for the origins listed in `CORS_ORIGINS` (comma-separated; "*" for any origin). */
export function corsFromEnv() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const allowed = commaList(c.env.CORS_ORIGINS);
    const anyOrigin = allowed.includes("*");
    return cors({
      origin: (origin) => (anyOrigin ? "*" : allowed.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", BOOKMARK_HEADER],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: [
        "Link",
        "X-Request-Id",
        "Retry-After",
        "Server-Timing",
        BOOKMARK_HEADER,
        REPLAYED_HEADER,
      ],
      maxAge: 600,
    })(c, next);
  });
}
