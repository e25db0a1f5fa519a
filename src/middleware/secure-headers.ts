import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../lib/create-app";

/**
 * Hono's secure headers on every answer, strict (a header a route set is replaced), with one
 * exception: paths `embeddable` names (the share cards, which link previews and other sites show) are
 * `Cross-Origin-Resource-Policy: cross-origin`; everything else stays `same-origin`. The choice is by
 * path, so it holds for every answer there, 304s and errors included.
 */
export function securityHeaders(embeddable: (path: string) => boolean): MiddlewareHandler<AppEnv> {
  const strict = secureHeaders();
  const crossOrigin = secureHeaders({ crossOriginResourcePolicy: "cross-origin" });
  return (c, next) => (embeddable(c.req.path) ? crossOrigin : strict)(c, next);
}
