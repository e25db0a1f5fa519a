import { z } from "@hono/zod-openapi";

/** An ISO-8601 instant with an offset on input, normalised to UTC (`…Z`) as stored and returned. */
export const IsoTimestamp = z.iso.datetime({ offset: true }).transform((t) => new Date(t).toISOString());
