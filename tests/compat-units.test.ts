import { describe, expect, it } from "vitest";
import {
  hoursFromMinutes,
  MAX_HOURS,
  MAX_STEP_MINUTES,
  minutesFromHours,
  partsOf,
  reconcileMinutes,
} from "../src/features/compat/units";
import { usernameKey } from "../src/features/compat/username-key";

describe("hours and minutes", () => {
  it("turns hours into whole minutes and back to hours with two decimals", () => {
    expect(minutesFromHours(1.5)).toBe(90);
    expect(minutesFromHours(6)).toBe(360);
    expect(minutesFromHours(0.001)).toBe(1);
    // The largest answer in hours goes back in as the largest minutes.
    expect(hoursFromMinutes(100_000)).toBe(MAX_HOURS);
    expect(minutesFromHours(MAX_HOURS)).toBe(100_000);
    expect(hoursFromMinutes(90)).toBe(1.5);
    expect(hoursFromMinutes(20)).toBe(0.33);
    expect(hoursFromMinutes(null)).toBeNull();
    expect(hoursFromMinutes(undefined)).toBeNull();
  });

  it("accepts minutes and hours together only when they agree", () => {
    expect(reconcileMinutes(undefined, 1.5)).toEqual({ ok: true, minutes: 90 });
    expect(reconcileMinutes(90, 1.5)).toEqual({ ok: true, minutes: 90 });
    expect(reconcileMinutes(91, 1.5)).toEqual({ ok: true, minutes: 91 });
    expect(reconcileMinutes(30, 1.5)).toEqual({ ok: false });
    expect(reconcileMinutes(45, undefined)).toEqual({ ok: true, minutes: 45 });
  });
});

describe("a long step as micro-steps", () => {
  it("keeps a step of 10 minutes or less as it is", () => {
    expect(partsOf("Open the doc", 7)).toEqual([
      { description: "Open the doc", estimated_minutes: 7, first: true },
    ]);
  });

  it("cuts a 25-minute step into three even parts that add up, each named", () => {
    const parts = partsOf("Write the intro", 25);
    expect(parts.map((p) => p.estimated_minutes)).toEqual([9, 8, 8]);
    expect(parts.map((p) => p.description)).toEqual([
      "Write the intro (part 1 of 3)",
      "Write the intro (part 2 of 3)",
      "Write the intro (part 3 of 3)",
    ]);
    expect(parts.map((p) => p.first)).toEqual([true, false, false]);
  });

  it("never makes a part longer than a micro-step, nor a description longer than 500", () => {
    for (let m = 1; m <= 60; m++) {
      const parts = partsOf("x".repeat(500), m);
      expect(parts.reduce((sum, p) => sum + p.estimated_minutes, 0)).toBe(m);
      for (const p of parts) {
        expect(p.estimated_minutes).toBeGreaterThanOrEqual(1);
        expect(p.estimated_minutes).toBeLessThanOrEqual(MAX_STEP_MINUTES);
        expect(p.description.length).toBeLessThanOrEqual(500);
      }
    }
  });
});

describe("usernames", () => {
  it("compare without case or compatibility spelling", () => {
    expect(usernameKey("Sam_Rivers")).toBe("sam_rivers");
    expect(usernameKey("ＳＡＭ")).toBe("sam");
    expect(usernameKey("ΑΣ_x")).toBe(usernameKey("ασ_x"));
    expect(usernameKey("ας")).toBe(usernameKey("ΑΣ"));
  });
});
