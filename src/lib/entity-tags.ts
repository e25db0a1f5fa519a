/**
 * Entity tags as If-Match, If-None-Match and If-Range carry them (RFC 9110 §8.8.3, §13.1): read by
 * their quotes, so a comma inside a tag does not split it, and compared strongly or weakly.
 */

export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** The entity tags of an If-Match / If-None-Match value; "*" is `any`. */
export function entityTags(value: string): EntityTag[] | "any" {
  if (value.trim() === "*") return "any";
  return [...value.matchAll(/(W\/)?("[^"]*")/g)].map((m) => ({ weak: Boolean(m[1]), opaque: m[2] ?? "" }));
}

const opaqueOf = (etag: string) => etag.replace(/^W\//, "");

/** Strong comparison: both tags strong and the same. */
export const strongMatch = (tag: EntityTag, etag: string) =>
  !tag.weak && !etag.startsWith("W/") && tag.opaque === etag;

/** Weak comparison: the same opaque tag, weak or not (a compressed answer's tag is made weak). */
export const weakMatch = (tag: EntityTag, etag: string) => tag.opaque === opaqueOf(etag);

/** Whether an If-None-Match header names this ETag, or is `*` (weak comparison, as for GET). */
export function ifNoneMatchHits(ifNoneMatch: string | undefined | null, etag: string): boolean {
  if (ifNoneMatch === undefined || ifNoneMatch === null) return false;
  const tags = entityTags(ifNoneMatch);
  return tags === "any" || tags.some((tag) => weakMatch(tag, etag));
}
