import type { QueryCosts } from "./query-costs";

/** What one answered request leaves in the log: a route template, never a path (paths carry tokens). */
export interface RequestLine {
  requestId: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  userId?: string;
  costs: QueryCosts;
}

/** Hashed ids by user: a user's requests hash the same, and each hash is worked out once per isolate. */
const hashes = new Map<string, string>();
const HASHES_KEPT = 1_000;

/**
 * A user's id as the logs show it: the first 16 hex digits of its SHA-256, enough to follow one person
 * through the logs without the logs naming anyone.
 */
export async function hashedUser(userId: string): Promise<string> {
  const known = hashes.get(userId);
  if (known) return known;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`pap-user:${userId}`));
  const hash = [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (hashes.size >= HASHES_KEPT) hashes.clear();
  hashes.set(userId, hash);
  return hash;
}

/** Which requests get a line: "all" (the default), "errors" (5xx and slow statements) or "off". */
export function shouldLog(setting: string | undefined, line: RequestLine): boolean {
  if (setting === "off") return false;
  if (setting === "errors") return line.status >= 500 || line.costs.slow.length > 0;
  return true;
}

/** One JSON line per request: request id, hashed user, route, status, duration and D1 costs. */
export async function logRequest(line: RequestLine): Promise<void> {
  const { costs } = line;
  const entry = {
    level: line.status >= 500 ? "error" : "info",
    message: "request",
    request_id: line.requestId,
    method: line.method,
    route: line.route,
    status: line.status,
    duration_ms: Math.round(line.ms * 10) / 10,
    user: line.userId ? await hashedUser(line.userId) : undefined,
    d1: {
      statements: costs.statements,
      trips: costs.trips,
      ms: Math.round(costs.ms * 10) / 10,
      rows_read: costs.rowsRead,
      rows_written: costs.rowsWritten,
    },
    slow_statements: costs.slow.length > 0 ? costs.slow.map((s) => ({ sql: s.sql, ms: s.ms })) : undefined,
  };
  if (line.status >= 500) console.error(JSON.stringify(entry));
  else console.log(JSON.stringify(entry));
}
