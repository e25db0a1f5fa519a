import { exports } from "cloudflare:workers";
import { BASE } from "./api";
import { checkContract } from "./contract";

/**
 * Sends a request exactly as the original system's clients do (ORIGINAL_CLIENTS.md), so the
 * compatibility tests replay their bytes rather than our helpers' habits:
 * - `app`: the Expo app's apiClient — base `/api/v1`, `Content-Type: application/json` on every call
 *   (even a GET, even a PATCH with nothing to send), the body omitted when there is none;
 * - `app-empty`: the same, but a body of zero bytes where there is none (some fetch polyfills);
 * - `curl`: the agents' shell scripts — a content type only when there is a body.
 * Every answer still goes through the contract check against /openapi.json.
 */
export type LegacyTransport = "app" | "app-empty" | "curl";

export interface LegacyCall {
  method?: string;
  body?: unknown;
  token?: string;
  transport?: LegacyTransport;
}

/** `path` is relative to the client's base URL, `/api/v1` (e.g. "/capture/"). */
export async function legacyCall(path: string, options: LegacyCall = {}): Promise<Response> {
  const transport = options.transport ?? "app";
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  else if (transport === "app-empty" && method !== "GET" && method !== "HEAD") body = "";
  if (transport !== "curl" || body !== undefined) headers["Content-Type"] = "application/json";
  const url = `${BASE}/api/v1${path}`;
  const res = await exports.default.fetch(url, { method, headers, body });
  await checkContract(method, url, res);
  return res;
}

/** legacyCall, asserting the status, and the JSON the client would read. */
export async function legacyJson<T>(path: string, status: number, options: LegacyCall = {}): Promise<T> {
  const res = await legacyCall(path, options);
  const text = await res.text();
  if (res.status !== status)
    throw new Error(`${options.method ?? "GET"} ${path}: expected ${status}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}
