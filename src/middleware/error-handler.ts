import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { accountGone, isAccountGuardAbort } from "../db/account-guard";
import type { AppEnv } from "../lib/create-app";
import { loggableError, loggableStack } from "../lib/db-errors";
import { ApiError, PROBLEM_CONTENT_TYPE, problemBody } from "../lib/errors";
import { routeTemplate } from "../lib/route-template";
import { reportError } from "../lib/sentry";
import { isTransient, unavailable } from "../lib/transient";

function problem(c: Context<AppEnv>, error: ApiError): Response {
  const body = problemBody(error.status, error.code, error.message, {
    errors: error.errors,
    instance: c.req.path,
    requestId: c.get("requestId"),
  });
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...error.headers },
  });
}

const HTTP_EXCEPTION_CODES: Record<number, [string, string]> = {
  400: ["malformed_request", "The request could not be read."],
  401: ["unauthorized", "Authentication is required."],
  404: ["not_found", "The resource was not found."],
  405: ["method_not_allowed", "This method is not allowed here."],
  413: ["payload_too_large", "The request body is too large."],
  415: ["unsupported_media_type", "Send the body as application/json."],
};

/**
 * The expected failure a thrown error stands for. Expected failures are ApiErrors; Hono's own
 * HTTPExceptions (malformed JSON, body limit) are mapped; anything else is a 500 whose detail never
 * carries SQL or a stack trace (the log keeps them). Shared by every answer that reports an error:
 * problem+json here, an MCP tool error there.
 */
export function asApiError(c: Context<AppEnv>, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // A write's batch found its account gone (src/db/account-guard.ts): nothing was written.
  if (isAccountGuardAbort(err)) return accountGone();
  // A lost connection or a reset object is no fault of the request: the client may simply try again.
  if (isTransient(err)) {
    console.warn(
      JSON.stringify({ level: "warn", request_id: c.get("requestId"), message: loggableError(err) }),
    );
    return unavailable(err);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const [code, fallback] = HTTP_EXCEPTION_CODES[status] ?? ["http_error", "The request failed."];
    const detail =
      status === 400 && /json/i.test(err.message)
        ? "The request body is not valid JSON."
        : err.message || fallback;
    return new ApiError(status, code, detail.endsWith(".") ? detail : `${detail}.`);
  }
  reportError(err, { request_id: c.get("requestId") ?? "", route: routeTemplate(c), method: c.req.method });
  console.error(
    JSON.stringify({
      level: "error",
      request_id: c.get("requestId"),
      message: loggableError(err),
      stack: loggableStack(err),
    }),
  );
  return new ApiError(500, "internal_error", "Something went wrong on our side; please try again.");
}

/** Turns every thrown error into problem+json. */
export const errorHandler: ErrorHandler<AppEnv> = (err, c) => problem(c, asApiError(c, err));

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  problem(c, new ApiError(404, "route_not_found", `No route matches ${c.req.method} ${c.req.path}.`));
