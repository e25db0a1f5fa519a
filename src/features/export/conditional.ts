/**
 * Conditional and partial downloads of an export file (RFC 9110 §13 and §14): which precondition
 * answers, and which bytes a Range asks for. Pure: the route gives the file's ETag, time and size.
 *
 * - If-Match / If-Unmodified-Since that fail → 412 (the file is not the one the client means);
 *   If-None-Match / If-Modified-Since that match → 304. Evaluated in the RFC's order.
 * - One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) → 206 with those bytes; a range past the end
 *   → 416. Several ranges, another unit or a malformed header → the whole file (a server may ignore
 *   Range). If-Range that does not match (strong comparison; or a date other than the file's) → the
 *   whole file.
 */

import { entityTags, ifNoneMatchHits, strongMatch } from "../../lib/entity-tags";

/** What the conditions are evaluated against. */
export interface Representation {
  /** The strong ETag as sent in the ETag header, quotes included. */
  etag: string;
  lastModified: Date;
  size: number;
}

export type Precondition = "proceed" | "not_modified" | "failed";

export type RangeRequest =
  | { kind: "full" }
  | { kind: "partial"; offset: number; length: number }
  | { kind: "unsatisfiable" };

/** An HTTP date, or null when the value is not one (an invalid date is ignored, as the RFC says). */
function httpDate(value: string | null): number | null {
  if (value === null) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

/** HTTP dates have whole seconds: the file's time is compared at that precision. */
const seconds = (ms: number) => Math.floor(ms / 1000);

export function evaluatePreconditions(headers: Headers, file: Representation): Precondition {
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    const tags = entityTags(ifMatch);
    if (tags !== "any" && !tags.some((t) => strongMatch(t, file.etag))) return "failed";
  } else {
    const since = httpDate(headers.get("if-unmodified-since"));
    if (since !== null && seconds(file.lastModified.getTime()) > seconds(since)) return "failed";
  }
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    if (ifNoneMatchHits(ifNoneMatch, file.etag)) return "not_modified";
  } else {
    const since = httpDate(headers.get("if-modified-since"));
    if (since !== null && seconds(file.lastModified.getTime()) <= seconds(since)) return "not_modified";
  }
  return "proceed";
}

/** Whether If-Range (if any) lets the Range apply. */
function ifRangeHolds(value: string | null, file: Representation): boolean {
  if (value === null) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) {
    const tags = entityTags(trimmed);
    return tags !== "any" && tags.length === 1 && tags.every((t) => strongMatch(t, file.etag));
  }
  const at = httpDate(trimmed);
  return at !== null && seconds(at) === seconds(file.lastModified.getTime());
}

export function requestedRange(headers: Headers, file: Representation): RangeRequest {
  const range = headers.get("range");
  if (range === null || !ifRangeHolds(headers.get("if-range"), file)) return { kind: "full" };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(range);
  if (!match) return { kind: "full" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // The last n bytes.
    const suffix = Number(last);
    if (suffix === 0 || file.size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, file.size);
    return { kind: "partial", offset: file.size - length, length };
  }
  const offset = Number(first);
  const end = last === "" ? file.size - 1 : Number(last);
  if (last !== "" && end < offset) return { kind: "full" };
  if (offset >= file.size) return { kind: "unsatisfiable" };
  return { kind: "partial", offset, length: Math.min(end, file.size - 1) - offset + 1 };
}
