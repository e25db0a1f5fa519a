import { describe, expect, it } from "vitest";
import { ifNoneMatchHits } from "../src/lib/entity-tags";

describe("ifNoneMatchHits", () => {
  const etag = '"v1"';

  it("matches the ETag among others, weakly, and `*`", () => {
    expect(ifNoneMatchHits(`"v0", ${etag}`, etag)).toBe(true);
    expect(ifNoneMatchHits('W/"v1"', etag)).toBe(true);
    expect(ifNoneMatchHits("*", etag)).toBe(true);
  });

  it("reads tags by their quotes: a comma inside one does not split it", () => {
    expect(ifNoneMatchHits('"a,b", "c"', '"a,b"')).toBe(true);
    expect(ifNoneMatchHits('"a,b"', '"a"')).toBe(false);
  });

  it("does not match another ETag, a missing header or an empty one", () => {
    expect(ifNoneMatchHits('"v0", W/"v2"', etag)).toBe(false);
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
    expect(ifNoneMatchHits("", etag)).toBe(false);
    expect(ifNoneMatchHits(", ,", etag)).toBe(false);
  });

  it("does not take the malformed `W/*` for `*` (a 304 on a header no client should send would be a guess)", () => {
    expect(ifNoneMatchHits("W/*", etag)).toBe(false);
  });
});
