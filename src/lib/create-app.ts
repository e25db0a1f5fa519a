import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { Database } from "../db";
import type { Env } from "../env";
import type { Principal } from "./auth/principal";
import { validationFailed } from "./errors";
import { zodIssuesToFieldErrors } from "./validation";

export interface AppVariables {
  requestId: string;
  db: Database;
  principal: Principal;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}

/** A handler typed by its route: it cannot answer a status or body the route does not declare. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

/**
 * Every feature router comes from here, so every validation failure (body, query, path, headers)
 * becomes the same 422 problem document.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(zodIssuesToFieldErrors(result.error.issues));
    },
  });
}

export type AppRouter = ReturnType<typeof createRouter>;
