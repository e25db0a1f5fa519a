import { ifNoneMatchHits } from "../../lib/entity-tags";

/**
 * HTTP conditional GET (RFC 9110 §13.1): If-None-Match wins over If-Modified-Since, a weak `W/`
 * validator matches its strong twin (GET compares weakly), and `*` matches any current body.
 */
export function notModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  current: { etag: string; lastModified: number },
): boolean {
  if (ifNoneMatch !== undefined) return ifNoneMatchHits(ifNoneMatch, current.etag);
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  // HTTP dates have whole seconds: the body counts as unmodified within the second it changed.
  return !Number.isNaN(since) && Math.floor(current.lastModified / 1000) * 1000 <= since;
}
