import { createRoute, z } from "@hono/zod-openapi";
import { isJsonContentType } from "@modelcontextprotocol/server";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, problemResponse } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { serveMcp } from "./server";

const tags = ["MCP"];
// Connecting needs no scope of its own: each tool checks the scope its REST route needs. Writes are
// limited per tool call that changes something, not per JSON-RPC message (listing tools is no change).
const auth = requireAuth({ countsAsWrite: false });

const JsonRpcId = z.union([z.string(), z.number().int(), z.null()]);
const JsonRpcError = z.object({
  code: z.number().int().openapi({ example: -32700 }),
  message: z.string(),
  data: z.unknown().optional(),
});
const JsonRpcErrorResponseSchema = z
  .object({ jsonrpc: z.literal("2.0"), id: JsonRpcId, error: JsonRpcError })
  .openapi("JsonRpcError");
const JsonRpcResponseSchema = z
  .union([
    z.object({ jsonrpc: z.literal("2.0"), id: JsonRpcId, result: z.record(z.string(), z.unknown()) }),
    JsonRpcErrorResponseSchema,
  ])
  .openapi("JsonRpcResponse");

const METHODS = [
  "initialize",
  "notifications/initialized",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
] as const;

const MCP_DESCRIPTION =
  "The Model Context Protocol (Streamable HTTP, stateless): send JSON-RPC messages with " +
  "`Authorization: Bearer` an agent's token or a personal API token. Each tool needs the scope its " +
  "REST route needs; a failed tool call is a tool error (`isError`) whose text is the REST `detail`. " +
  "Answers are JSON whatever the Accept header says; there are no sessions.";

export const postMcp = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "MCP: send JSON-RPC messages (initialize, tools/list, tools/call, resources/read …)",
  description: MCP_DESCRIPTION,
  security: BEARER_SECURITY,
  middleware: auth,
  request: {
    body: {
      required: true,
      description: "A JSON-RPC 2.0 message, or a batch of them as a JSON array",
      content: {
        // Documented, not validated here: a message the transport cannot read must be answered with a
        // JSON-RPC error (which MCP clients understand), not with a problem document.
        "application/json": {
          schema: {
            type: "object",
            required: ["jsonrpc", "method"],
            properties: {
              jsonrpc: { type: "string", enum: ["2.0"] },
              id: { type: ["string", "integer"], description: "Absent on notifications" },
              method: { type: "string", enum: [...METHODS], example: "tools/list" },
              params: { type: "object" },
            },
          },
        },
      },
    },
  },
  responses: {
    200: jsonResponse(
      z.union([JsonRpcResponseSchema, z.array(JsonRpcResponseSchema)]),
      "The JSON-RPC answer (an array for a batch); a failed tool call is a result with isError",
    ),
    202: { description: "Only notifications were sent: accepted, nothing to answer" },
    400: {
      description:
        "Not a JSON-RPC message MCP can read: a JSON-RPC error (parse error, invalid request; a batch of " +
        "more than 20 messages, or with a request id twice, is refused whole with -32600)",
      content: { "application/json": { schema: JsonRpcErrorResponseSchema } },
    },
    ...errorResponses(401, 413),
    415: problemResponse("The body is not sent as application/json"),
  },
});

const notAllowedRoute = (method: "get" | "delete", summary: string) =>
  createRoute({
    method,
    path: "/",
    tags,
    summary,
    description: "This MCP server keeps no sessions and streams nothing: everything goes through POST /mcp.",
    security: BEARER_SECURITY,
    middleware: auth,
    responses: {
      405: problemResponse("Not allowed: this server is stateless (use POST); `Allow: POST`"),
      ...errorResponses(401),
    },
  });

export const getMcp = notAllowedRoute("get", "MCP: no server-sent event stream (405)");
export const deleteMcp = notAllowedRoute("delete", "MCP: no session to end (405)");

const postHandler: AppRouteHandler<typeof postMcp> = async (c) => {
  // A body of another kind is refused unread. No body at all goes on to the transport, which answers
  // it as the JSON-RPC parse error it is.
  if (c.req.raw.body !== null && !isJsonContentType(c.req.header("content-type") ?? null)) {
    throw new ApiError(415, "unsupported_media_type", "Send the JSON-RPC message as application/json.");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  // Answers are always JSON (no streams), so a client that accepts only JSON is served all the same.
  headers.set("accept", "application/json, text/event-stream");
  const body = c.req.raw.body === null ? "" : await c.req.text();
  const refused = refusedBatch(body);
  if (refused)
    return c.json({ jsonrpc: "2.0" as const, id: null, error: { code: -32600, message: refused } }, 400);
  return serveMcp(c, new Request(c.req.url, { method: "POST", headers, body }));
};

/** Calls one JSON-RPC batch may hold: each tool call is a write of its own. */
export const MAX_BATCH_CALLS = 20;

/**
 * Why a JSON-RPC batch is refused before anything in it runs, or null: too many messages, or two
 * requests with the same id (their answers could not be told apart). Anything else, parse errors
 * included, is the transport's to answer.
 */
function refusedBatch(body: string): string | null {
  if (!body.trimStart().startsWith("[")) return null;
  let messages: unknown[];
  try {
    // Text that starts with "[" (past whitespace) and parses is a JSON array.
    messages = JSON.parse(body);
  } catch {
    return null;
  }
  if (messages.length > MAX_BATCH_CALLS)
    return `A batch holds at most ${MAX_BATCH_CALLS} messages; this one has ${messages.length}.`;
  const ids = new Set<string>();
  for (const message of messages) {
    if (typeof message !== "object" || message === null || !("id" in message)) continue;
    const { id } = message;
    if (id === undefined || id === null) continue;
    const key = JSON.stringify(id);
    if (ids.has(key)) return `Request id ${key} appears twice in this batch; give each request its own id.`;
    ids.add(key);
  }
  return null;
}

const notAllowed: AppRouteHandler<typeof getMcp> = () => {
  throw new ApiError(
    405,
    "method_not_allowed",
    "This MCP server is stateless: send every message with POST.",
    {
      headers: { Allow: "POST" },
    },
  );
};

export const mcpRouter = createRouter()
  .openapi(postMcp, postHandler)
  .openapi(getMcp, notAllowed)
  .openapi(deleteMcp, notAllowed);
