import { describe, expect, it } from "vitest";
import {
  formatShareCode,
  newShareCode,
  normalizeShareCode,
  SHARE_CODE_ALPHABET,
  SHARE_CODE_LENGTH,
} from "../src/features/templates/share-code";

describe("template share codes", () => {
  it("are 10 characters of Crockford's base32, shown as two groups of five", () => {
    const code = newShareCode();
    expect(code).toMatch(/^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}$/);
    expect(formatShareCode(code)).toBe(`${code.slice(0, 5)}-${code.slice(5)}`);
    expect(SHARE_CODE_ALPHABET).toHaveLength(32);
    expect(SHARE_CODE_ALPHABET).not.toMatch(/[ILOU]/);
  });

  it("do not repeat and use the whole alphabet in every position", () => {
    const codes = Array.from({ length: 2000 }, () => newShareCode());
    expect(new Set(codes).size).toBe(codes.length);
    for (let position = 0; position < SHARE_CODE_LENGTH; position++) {
      const seen = new Set(codes.map((c) => c[position]));
      // 2000 draws from 32 letters leave one out with a chance below 32 · (31/32)^2000 ≈ 10^-26.
      expect(seen.size, `position ${position}`).toBe(32);
    }
  });

  it("read what people type: any case, spaces and hyphens, I and L as 1, O as 0", () => {
    const code = "7KQ2M9XW4T";
    for (const typed of [
      "7KQ2M-9XW4T",
      "7kq2m-9xw4t",
      " 7kq2m 9xw4t ",
      "7-K-Q-2-M-9-X-W-4-T",
      "7KQ2M9XW4T",
    ]) {
      expect(normalizeShareCode(typed), typed).toBe(code);
    }
    expect(normalizeShareCode("1O1O1-LiIoo")).toBe("1010111100");
    expect(normalizeShareCode(formatShareCode(code))).toBe(code);
  });

  it("refuse what cannot be a code", () => {
    for (const typed of [
      "",
      "7KQ2M-9XW4",
      "7KQ2M-9XW4TT",
      "UUUUU-UUUUU",
      "7KQ2M_9XW4T",
      "7KQ2M-9XW4!",
      "ÄKQ2M-9XW4T",
    ]) {
      expect(normalizeShareCode(typed), typed).toBeNull();
    }
  });
});
