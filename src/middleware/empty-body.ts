import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/create-app";

/**
 * A request with no body at all but a JSON content type (some clients always send the header) is
 * treated as having no body, so routes whose body is optional answer it instead of "malformed JSON".
 * A body that is present but empty or broken is still the client's mistake, and gets its 400.
 */
export function tolerateMissingJsonBody() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const raw = c.req.raw;
    if (raw.body === null && /json/i.test(raw.headers.get("content-type") ?? "")) {
      const headers = new Headers(raw.headers);
      headers.delete("content-type");
      c.req.raw = new Request(raw, { headers });
    }
    await next();
  });
}
