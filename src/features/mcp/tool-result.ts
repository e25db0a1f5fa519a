import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { Scope } from "../../lib/auth/principal";
import type { AppEnv } from "../../lib/create-app";
import type { ApiError } from "../../lib/errors";
import { requireScope } from "../../middleware/auth";
import { asApiError } from "../../middleware/error-handler";
import { enforceLimit } from "../../middleware/rate-limit";

/** What a tool needs before it runs: the scope its REST route requires, and whether it changes anything. */
export interface ToolRule {
  scope: Scope;
  /** Counts against the caller's write limit, as the REST write does. */
  write?: boolean;
}

/** The failure a tool reports: the REST route's status, code and sentence. */
export interface ToolFailure {
  status: number;
  code: string;
  detail: string;
  retry_after_seconds?: number;
  errors?: { field: string; message: string }[];
}

/** A tool error (isError) carrying the REST `detail` as its text and the failure as structured content. */
export function toolFailure(error: ApiError): CallToolResult {
  const retryAfter = Number(error.headers["Retry-After"]);
  const failure: ToolFailure = {
    status: error.status,
    code: error.code,
    detail: error.message,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retry_after_seconds: retryAfter } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return {
    isError: true,
    content: [{ type: "text", text: error.message }],
    structuredContent: { ...failure },
  };
}

/**
 * Runs one tool call as its REST route would: the route's scope (403 sentence when missing), the write
 * limit for changes, then `work` — the same service call the route makes. Its answer is the structured
 * content (and its JSON the text, for clients that read only text); any failure is a tool error.
 */
export async function runTool<T extends Record<string, unknown>>(
  c: Context<AppEnv>,
  rule: ToolRule,
  work: () => Promise<T>,
): Promise<CallToolResult> {
  try {
    requireScope(c.var.principal, rule.scope);
    if (rule.write) await enforceLimit(c.env, "WRITE_LIMITER", `user:${c.var.principal.userId}`);
    const output = await work();
    return { content: [{ type: "text", text: JSON.stringify(output) }], structuredContent: output };
  } catch (error) {
    return toolFailure(asApiError(c, error));
  }
}
