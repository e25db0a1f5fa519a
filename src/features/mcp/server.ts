import { McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AppEnv } from "../../lib/create-app";
import { registerTaskResources } from "./resources";
import { registerAssignmentTools } from "./tools/assignments";
import { registerCaptureTools } from "./tools/capture";
import { registerTaskTools } from "./tools/tasks";

const INSTRUCTIONS =
  "Proxy Agent Platform: tasks broken into micro-steps, shared by a person and their AI agents. " +
  "Poll list_assignments for work; accept_assignment, start_assignment, then get_task or next_step to " +
  "see what to do, and complete_assignment when done (or reject_assignment, saying why). A failed call " +
  "says why in one sentence, with the REST status and code in its structured content.";

/** The MCP server of one caller: every tool and resource acts as that principal, as REST would. */
export function buildMcpServer(c: Context<AppEnv>): McpServer {
  const server = new McpServer(
    { name: "proxy-agent-platform", version: "1.0.0" },
    { instructions: INSTRUCTIONS },
  );
  registerAssignmentTools(server, c);
  registerTaskTools(server, c);
  registerCaptureTools(server, c);
  registerTaskResources(server, c);
  return server;
}

/**
 * Answers one MCP request statelessly: a fresh server and transport per HTTP request, no session id,
 * answers as JSON. Any isolate can answer any request, and nothing outlives the request.
 */
export async function serveMcp(c: Context<AppEnv>, request: Request): Promise<Response> {
  const server = buildMcpServer(c);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request);
  } finally {
    await server.close();
  }
}
