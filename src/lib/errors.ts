import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** One field that failed validation, named by its JSON path ("micro_steps.0.description"). */
export interface FieldError {
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/**
 * An expected failure, rendered as RFC 9457 problem details by the error handler.
 * `detail` is always a plain sentence: older clients show it to people as it is.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} was not found.`);
export const validationFailed = (errors: FieldError[], detail?: string) =>
  new ApiError(422, "validation_failed", detail ?? describeFieldErrors(errors), { errors });
export const conflict = (code: string, detail: string) => new ApiError(409, code, detail);
export const unauthorized = (detail = "Authentication is required.") =>
  new ApiError(401, "unauthorized", detail, { headers: { "WWW-Authenticate": 'Bearer realm="api"' } });
export const forbidden = (detail: string) => new ApiError(403, "forbidden", detail);

function describeFieldErrors(errors: FieldError[]): string {
  const first = errors[0];
  if (!first) return "The request is not valid.";
  const rest =
    errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? "s" : ""})` : "";
  return `${first.field ? `${first.field}: ` : ""}${first.message}${rest}.`.replace(/\.\.$/, ".");
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

export function problemBody(
  status: number,
  code: string,
  detail: string,
  extra: { errors?: FieldError[] | undefined; instance?: string; requestId?: string | undefined } = {},
): ProblemBody {
  return {
    type: `https://proxy-agent.dev/problems/${code.replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...(extra.instance ? { instance: extra.instance } : {}),
    ...(extra.requestId ? { request_id: extra.requestId } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

/** The one error shape of the API, as an OpenAPI component. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://proxy-agent.dev/problems/not-found" }),
    title: z.string().openapi({ example: "Not Found" }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: "Task was not found." }),
    code: z.string().openapi({ example: "not_found" }),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Present on validation failures: one entry per failing field." }),
  })
  .openapi("Problem");

/** Declares a problem+json response for a route's `responses`. */
export function problemResponse(description: string) {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
}
