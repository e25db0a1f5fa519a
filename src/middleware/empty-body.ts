import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/create-app";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const JSON_TYPE = /^\s*application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * A request with a JSON content type but nothing in its body — no body at all, `Content-Length: 0`,
 * or only whitespace — is treated as having no body: some clients (the original mobile app among them)
 * always send the header, even on a PATCH that carries nothing. Routes whose body is optional then
 * answer it; routes that need one say so. A body with content that does not parse is still a 400.
 *
 * Paths that read their own (large) bodies as streams are never read here.
 */
export function tolerateMissingJsonBody(options: { ownLimits?: readonly string[] } = {}) {
  const exempt = new Set(options.ownLimits ?? []);
  return createMiddleware<AppEnv>(async (c, next) => {
    const raw = c.req.raw;
    if (!JSON_TYPE.test(raw.headers.get("content-type") ?? "")) return next();
    if (raw.body !== null && raw.headers.get("content-length") !== "0") {
      // A body of unknown length is read once here (it is already held to the body limit); the route's
      // validator then parses the same text from Hono's cache.
      if (!WRITES.has(raw.method) || exempt.has(c.req.path.replace(/\/+$/, ""))) return next();
      if (raw.headers.has("content-length") && raw.headers.get("content-length") !== "0") {
        const length = Number(raw.headers.get("content-length"));
        // A declared length larger than a little whitespace cannot be empty: no need to read it.
        if (length > 64) return next();
      }
      if (!/^\s*$/.test(await c.req.text())) return next();
    }
    const headers = new Headers(raw.headers);
    headers.delete("content-type");
    headers.delete("content-length");
    c.req.raw = new Request(raw, { headers, body: null });
    c.req.bodyCache = {};
    await next();
  });
}
