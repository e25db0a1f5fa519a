import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/create-app";
import { ApiError } from "../lib/errors";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Refuses bodies over `MAX_BODY_BYTES` (default 1 MiB) with 413, before any handler reads them.
 * `ownLimits` are paths whose route reads its body with a limit of its own (an import's file, up to
 * 10 MiB, refused past it with the 422 that route documents): this one leaves them to it.
 */
export function limitBody(options: { ownLimits?: readonly string[] } = {}) {
  const exempt = new Set(options.ownLimits ?? []);
  return createMiddleware<AppEnv>(async (c, next) => {
    if (exempt.has(c.req.path.replace(/\/+$/, ""))) return next();
    const configured = Number(c.env.MAX_BODY_BYTES);
    const maxSize = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_BODY_BYTES;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(413, "payload_too_large", `The request body is larger than ${maxSize} bytes.`);
      },
    })(c, next);
  });
}
