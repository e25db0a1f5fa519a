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
let hashKey: { secret: string; key: Promise<CryptoKey> } | undefined;

function keyFor(secret: string): Promise<CryptoKey> {
  if (hashKey?.secret !== secret) {
    const key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(`pap-log-user:${secret}`),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    hashKey = { secret, key };
    hashes.clear();
  }
  return hashKey.key;
}

/**
 * A user's id as the logs show it: the first 16 hex digits of an HMAC-SHA-256 keyed by the server's
 * secret, enough to follow one person through the logs, and not to be worked out from an id someone
 * knows without that secret.
 */
export async function hashedUser(userId: string, secret: string): Promise<string> {
  const key = await keyFor(secret);
  const known = hashes.get(userId);
  if (known) return known;
  const digest = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(userId));
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
export async function logRequest(line: RequestLine, secret: string): Promise<void> {
  const { costs } = line;
  const entry = {
    level: line.status >= 500 ? "error" : "info",
    message: "request",
    request_id: line.requestId,
    method: line.method,
    route: line.route,
    status: line.status,
    duration_ms: Math.round(line.ms * 10) / 10,
    user: line.userId ? await hashedUser(line.userId, secret) : undefined,
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
