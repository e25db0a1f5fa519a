import { z } from "@hono/zod-openapi";
import { problemResponse } from "./errors";

/**
 * `schema | null` for a schema registered as a component. zod-to-openapi turns `Named.nullable()` into
 * a bare `$ref` or an `allOf` that refuses null — a document that contradicts the API — while a union
 * becomes `anyOf: [{ $ref }, { type: "null" }]`.
 */
export function nullableRef<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.null()]);
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** A page of a list: a JSON array, with the next page (if any) in `Link: <…>; rel="next"`. */
export function pageResponse<T extends z.ZodType>(item: T, description: string) {
  return {
    description,
    content: { "application/json": { schema: z.array(item) } },
    headers: z.object({ Link: z.string().optional().openapi({ description: 'rel="next" page' }) }),
  };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

const ERROR_DESCRIPTIONS = {
  400: "Malformed request (e.g. the body is not valid JSON)",
  401: "Missing, expired or invalid credentials",
  403: "The credential lacks the scope this route needs",
  404: "Not found, or not yours",
  409: "Conflicts with the current state",
  413: "Request body too large",
  422: "Validation failed; `errors` names the fields",
  426: "This route needs a WebSocket upgrade",
  429: "Too many requests (rate limit or failed sign-ins); try again after Retry-After",
  503: "A dependency or capacity is unavailable for now; try again after Retry-After",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** Problem+json responses for the given statuses, for a route's `responses`. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, problemResponse(ERROR_DESCRIPTIONS[s])])) as {
    [K in S]: ReturnType<typeof problemResponse>;
  };
}

/** Responses every authenticated JSON write can give, besides its own. */
export const AUTHED_WRITE_ERRORS = [400, 401, 403, 413, 422] as const;

export const BEARER_SECURITY = [{ bearerAuth: [] }];

interface RegisteredRoute {
  method: string;
  path: string;
  operationId?: string;
  security?: unknown[];
  request?: { params?: unknown };
  responses: Record<string, unknown>;
}

/** The part of an OpenAPI registry this module reads: its routes. */
interface RouteRegistry {
  definitions: readonly ({ type: string; route?: RegisteredRoute } | object)[];
}

const READ_METHODS = new Set(["get", "head", "options"]);

/**
 * Documents on every route what it may answer whatever its own rules: 503 with Retry-After when D1
 * or a Durable Object fails transiently (src/lib/transient.ts), 422 for a malformed id in its path,
 * and 429 with Retry-After on every
 * authenticated write (the per-user write limit in requireAuth) and on the routes `limitedByAddress`
 * names. Routes that answer these for a reason of their own keep their description.
 */
export function documentCommonResponses(
  registry: RouteRegistry,
  limitedByAddress: (route: RegisteredRoute) => boolean,
): void {
  for (const definition of registry.definitions) {
    if (!("type" in definition) || definition.type !== "route" || !definition.route) continue;
    const route = definition.route;
    route.responses[503] ??= problemResponse(ERROR_DESCRIPTIONS[503]);
    // An id in the path that is not one (too long, wrong characters) fails validation like any field.
    if (route.request?.params !== undefined)
      route.responses[422] ??= problemResponse(ERROR_DESCRIPTIONS[422]);
    const authed = (route.security?.length ?? 0) > 0;
    if ((authed && !READ_METHODS.has(route.method)) || limitedByAddress(route))
      route.responses[429] ??= problemResponse(ERROR_DESCRIPTIONS[429]);
    // A route that names no credential takes none, and says so (an empty list, not a silence).
    route.security ??= [];
  }
  nameOperations(registry);
}

/**
 * `getTasksByTaskId` for `GET /api/v1/tasks/{task_id}`: every operation gets an id from its method and
 * path (the names generated clients give their methods), unless its route names one itself. Method
 * and path are unique, so the ids are; a clash (two spellings of one path) fails at start-up.
 */
export function operationIdOf(method: string, path: string): string {
  const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
  const words = path
    .replace(/^\/api\/v1(?=\/|$)/, "")
    .split(/[/.]/)
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      const name = (param?.[1] ?? segment).split(/[-_]/).filter(Boolean).map(pascal).join("");
      return param ? `By${name}` : name;
    });
  return method.toLowerCase() + words.join("");
}

function nameOperations(registry: RouteRegistry): void {
  const seen = new Map<string, string>();
  for (const definition of registry.definitions) {
    if (!("type" in definition) || definition.type !== "route" || !definition.route) continue;
    const route = definition.route;
    route.operationId ??= operationIdOf(route.method, route.path);
    const where = `${route.method} ${route.path}`;
    const other = seen.get(route.operationId);
    if (other && other !== where)
      throw new Error(`operationId ${route.operationId} names ${other} and ${where}`);
    seen.set(route.operationId, where);
  }
}
