/**
 * The items of a comma-separated header or setting, trimmed, blanks dropped ("a, ,b," → ["a", "b"]);
 * none for a missing one.
 */
export function commaList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Whether an If-None-Match header names this ETag (or `*`). Weak comparison, as for GET: `W/"x"`
 * matches `"x"`.
 */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  return commaList(ifNoneMatch).some((tag) => tag === "*" || tag.replace(/^W\//, "") === etag);
}
