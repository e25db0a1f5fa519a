import { describe, expect, it } from "vitest";
import { commaList } from "../src/lib/comma-list";

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
