import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "./create-app";
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
function encodeCursor(lastId: string): string {
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
function nextLink(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl);
  url.searchParams.set("cursor", cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}

/** One page of a list, and the key the next page starts after (null on the last page). */
export interface Page<T> {
  items: T[];
  lastId: string | null;
}

/** How many rows to fetch for a page: one more than it shows, to learn whether another page follows. */
export function rowsToFetch(limit: number): number {
  return limit + 1;
}

/**
 * The page in rows fetched with `rowsToFetch(limit)`: the first `limit` as items, and when the extra
 * row came back, the key of the last item shown (`keyOf` sees the row and the item made from it).
 */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  toItem: (row: R) => T,
  keyOf: (row: R, item: T) => string,
): Page<T> {
  const shown = rows.slice(0, limit);
  const items = shown.map(toItem);
  const lastRow = shown.at(-1);
  const lastItem = items.at(-1);
  const more = rows.length > limit && lastRow !== undefined && lastItem !== undefined;
  return { items, lastId: more ? keyOf(lastRow, lastItem) : null };
}

/** The cursor of the page after this one, or null on the last page (for callers that are not HTTP). */
export function nextCursor<T>(page: Page<T>): string | null {
  return page.lastId ? encodeCursor(page.lastId) : null;
}

/** The page's items, with the next page's address in the `Link` header when there is one. */
export function withNextLink<T>(c: Context<AppEnv>, page: Page<T>): T[] {
  const cursor = nextCursor(page);
  if (cursor) c.header("Link", nextLink(c.req.url, cursor));
  return page.items;
}
