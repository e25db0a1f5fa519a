import type { Context } from "hono";
import { matchedRoutes, routePath } from "hono/route";

/** What a request that matched no route is counted as: its path could be anything. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The template of the route that answered, as the OpenAPI document writes it (`/api/v1/tasks/{id}`):
 * the last route matched with a method of its own (middleware match every method), or the handler's
 * own path for routes that take any method.
 */
export function routeTemplate(c: Context): string {
  const routes = matchedRoutes(c);
  const handler = routes.findLast((route) => route.method !== "ALL");
  const path = handler?.path ?? routePath(c);
  if (!path || path.endsWith("*")) return UNMATCHED_ROUTE;
  return path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
}
