import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { base64UrlDecode, base64UrlEncode } from "./ids";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export const PaginationQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .openapi({
      description: `Page size (1–${MAX_PAGE_SIZE})`,
      example: 50,
    }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "Opaque cursor from the previous page's Link header" }),
});

/** Server-made ids (UUIDv7): what a cursor holds unless a list says otherwise. */
const UUID_ID = /^[0-9a-f-]{36}$/;

/** Cursors are opaque to clients: today the last id seen, tomorrow maybe more. */
export function encodeCursor(lastId: string): string {
  return base64UrlEncode(new TextEncoder().encode(lastId));
}

/**
 * The id in a cursor, or null when it is not one of ours. `idPattern` is the shape of the list's ids:
 * UUIDs by default; lists of client-chosen ids (templates) pass their own.
 */
export function decodeCursor(cursor: string, idPattern: RegExp = UUID_ID): string | null {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64UrlDecode(cursor));
    return idPattern.test(text) ? text : null;
  } catch {
    return null;
  }
}

/** The id a page starts after: null for the first page; 400 for a cursor that is not one of ours. */
export function pageAfter(cursor: string | undefined, idPattern: RegExp = UUID_ID): string | null {
  if (cursor === undefined) return null;
  const afterId = decodeCursor(cursor, idPattern);
  if (!afterId)
    throw new ApiError(400, "invalid_cursor", "The cursor is not valid; start again from the first page.");
  return afterId;
}

/** `Link: <…>; rel="next"` for the page after this one, keeping every other query parameter. */
export function nextLink(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl);
  url.searchParams.set("cursor", cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}
