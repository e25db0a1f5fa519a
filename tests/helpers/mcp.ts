import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { type CallToolResult, Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { BASE } from "./api";
import { checkContract } from "./contract";

export const MCP_URL = `${BASE}/mcp`;

/** The Worker as the MCP client's fetch: every answer is checked against /openapi.json, as `call` does. */
async function workerFetch(url: string | URL, init?: RequestInit): Promise<Response> {
  const res = await exports.default.fetch(url, init);
  await checkContract(init?.method ?? "GET", String(url), res);
  return res;
}

/** The Worker over other bindings (a spied D1, say) as the MCP client's fetch. */
function workerOver(bindings: Env) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(url, init), bindings, ctx);
    await waitOnExecutionContext(ctx);
    await checkContract(init?.method ?? "GET", String(url), res);
    return res;
  };
}

/**
 * The MCP SDK's own client, connected to /mcp with this bearer token: the 2025 handshake, or with
 * `negotiate` the newer client's probe for a 2026 server first (which must fall back to it). With
 * `bindings`, the Worker runs over those instead of the test's own.
 */
export async function mcpClient(
  token: string,
  options: { negotiate?: boolean; bindings?: Env } = {},
): Promise<Client> {
  const client = new Client(
    { name: "proxy-agent-tests", version: "1.0.0" },
    options.negotiate ? { versionNegotiation: { mode: "auto" } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    fetch: options.bindings ? workerOver(options.bindings) : workerFetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** A tool call's structured content, failing loudly when the call was a tool error. */
export async function callTool<T>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

/** What a failed tool call reports: its sentence (the REST detail) and the REST status and code. */
export interface ToolError {
  text: string;
  status: number;
  code: string;
}

/** A tool call that must fail: its sentence and REST status, failing loudly when it succeeded. */
export async function toolError(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolError> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (!result.isError) throw new Error(`${name} succeeded: ${JSON.stringify(result.structuredContent)}`);
  const [first] = result.content;
  const failure = (result.structuredContent ?? {}) as { status?: number; code?: string };
  return {
    text: first?.type === "text" ? first.text : "",
    status: failure.status ?? 0,
    code: failure.code ?? "",
  };
}
