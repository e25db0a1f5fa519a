import { describe, expect, it } from "vitest";
import { commaList, ifNoneMatchHits } from "../src/lib/comma-list";

describe("commaList", () => {
  it("trims each item and drops the blank ones", () => {
    expect(commaList(" a, ,b ,, c,")).toEqual(["a", "b", "c"]);
  });

  it("is empty for a missing, blank or comma-only value", () => {
    expect(commaList(undefined)).toEqual([]);
    expect(commaList("   ")).toEqual([]);
    expect(commaList(", ,")).toEqual([]);
  });
});

describe("ifNoneMatchHits", () => {
  const etag = '"v1"';

  it("matches the ETag among others, weakly, and `*`", () => {
    expect(ifNoneMatchHits(`"v0", ${etag}`, etag)).toBe(true);
    expect(ifNoneMatchHits('W/"v1"', etag)).toBe(true);
    expect(ifNoneMatchHits("*", etag)).toBe(true);
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
