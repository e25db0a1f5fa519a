import { describe, expect, it } from "vitest";
import { ZERO_COUNTERS } from "../src/features/analytics/rollup-queries";
import {
  findPatterns,
  MARGIN,
  MIN_CONFIDENCE,
  MIN_SAMPLES,
  type RollupInput,
  STATISTIC_DEFINITION,
  tallySlices,
} from "../src/features/insights/patterns";
import { hourBlockOf, labelOf, weekdayOf } from "../src/features/insights/slices";
import {
  betaCdf,
  bonferroniConfidence,
  logGamma,
  posterior,
  probabilityExceedsBy,
  probabilityGreater,
  wilsonInterval,
} from "../src/features/insights/statistics";
import { seededRandom } from "../src/lib/seeded-random";
import { addDays } from "../src/lib/time";
import { generateHistory, type HistorySpec, type Moment } from "./helpers/insight-histories";

// A pure test: any fixed date will do (nothing here reaches the runtime's clock).
const TO = "2025-06-15";

describe("the statistics, against values known in closed form", () => {
  it("log-gamma: ln Γ(n) = ln (n−1)!, Γ(1/2) = √π", () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // ln 170! as a plain sum of logs.
    const log170 = Array.from({ length: 170 }, (_, i) => Math.log(i + 1)).reduce((a, b) => a + b, 0);
    expect(logGamma(171)).toBeCloseTo(log170, 8);
  });

  it("the Beta distribution function: I_x(1,1) = x, I_x(a,1) = x^a, I_½(a,a) = ½", () => {
    expect(betaCdf(0.37, { alpha: 1, beta: 1 })).toBeCloseTo(0.37, 12);
    expect(betaCdf(0.3, { alpha: 2, beta: 1 })).toBeCloseTo(0.09, 12);
    expect(betaCdf(0.6, { alpha: 5, beta: 1 })).toBeCloseTo(0.6 ** 5, 12);
    expect(betaCdf(0.5, { alpha: 40, beta: 40 })).toBeCloseTo(0.5, 12);
    // I_x(2,2) = 3x² − 2x³
    expect(betaCdf(0.2, { alpha: 2, beta: 2 })).toBeCloseTo(3 * 0.04 - 2 * 0.008, 12);
    expect(betaCdf(0, { alpha: 3, beta: 2 })).toBe(0);
    expect(betaCdf(1, { alpha: 3, beta: 2 })).toBe(1);
  });

  it("posteriors: Beta(1 + successes, 1 + failures), and nonsense counts are refused", () => {
    expect(posterior(7, 10)).toEqual({ alpha: 8, beta: 4 });
    expect(() => posterior(11, 10)).toThrow(RangeError);
    expect(() => posterior(-1, 10)).toThrow(RangeError);
  });

  it("P(X > Y) exactly (Evan Miller's formula): ½ for equals, a/(a+1) for Beta(a,1) against a uniform", () => {
    expect(probabilityGreater({ alpha: 1, beta: 1 }, { alpha: 1, beta: 1 })).toBeCloseTo(0.5, 12);
    expect(probabilityGreater({ alpha: 2, beta: 1 }, { alpha: 1, beta: 1 })).toBeCloseTo(2 / 3, 12);
    expect(probabilityGreater({ alpha: 7, beta: 1 }, { alpha: 1, beta: 1 })).toBeCloseTo(7 / 8, 12);
    // Y ~ Beta(1,2): P(X > Y) = E[1 − Y] = 2/3 for a uniform X.
    expect(probabilityGreater({ alpha: 1, beta: 1 }, { alpha: 1, beta: 2 })).toBeCloseTo(2 / 3, 12);
    // Symmetry: P(X > Y) + P(Y > X) = 1.
    const a = posterior(30, 55);
    const b = posterior(300, 580);
    expect(probabilityGreater(a, b) + probabilityGreater(b, a)).toBeCloseTo(1, 10);
    // Not an integer α: integrated instead, and still right.
    expect(probabilityGreater({ alpha: 1.5, beta: 1 }, { alpha: 1, beta: 1 })).toBeCloseTo(1.5 / 2.5, 6);
  });

  it("P(X − Y > margin) by integration: (1−δ)²/2 for two uniforms, 2/3 − δ + δ³/3 for Beta(2,1) − U", () => {
    for (const d of [0, 0.1, 0.25, 0.6]) {
      expect(probabilityExceedsBy({ alpha: 1, beta: 1 }, { alpha: 1, beta: 1 }, d)).toBeCloseTo(
        (1 - d) ** 2 / 2,
        8,
      );
      expect(probabilityExceedsBy({ alpha: 2, beta: 1 }, { alpha: 1, beta: 1 }, d)).toBeCloseTo(
        2 / 3 - d + d ** 3 / 3,
        8,
      );
    }
    expect(probabilityExceedsBy({ alpha: 1, beta: 1 }, { alpha: 1, beta: 1 }, 1)).toBe(0);
  });

  it("the integral agrees with the closed form at margin 0 across many posteriors (within 1e-4)", () => {
    const random = seededRandom("closed-form-check");
    let worst = 0;
    for (let i = 0; i < 300; i++) {
      const n1 = 1 + Math.floor(random() * 2000);
      const n2 = 1 + Math.floor(random() * 2000);
      const x = posterior(Math.floor(random() * (n1 + 1)), n1);
      const y = posterior(Math.floor(random() * (n2 + 1)), n2);
      worst = Math.max(worst, Math.abs(probabilityGreater(x, y) - probabilityExceedsBy(x, y, 0)));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it("the margin makes a claim harder: P(X − Y > δ) falls as δ grows", () => {
    const x = posterior(40, 50);
    const y = posterior(50, 100);
    const at = [0, 0.1, 0.2, 0.3, 0.4].map((d) => probabilityExceedsBy(x, y, d));
    for (let i = 1; i < at.length; i++) expect(at[i]).toBeLessThan(at[i - 1] as number);
    expect(at[0]).toBeCloseTo(probabilityGreater(x, y), 5);
  });

  it("the Wilson score interval (95%): 8/10 → [0.490, 0.943], 0/10 → [0, 0.278], nothing → [0, 1]", () => {
    const eight = wilsonInterval(8, 10);
    expect(eight.low).toBeCloseTo(0.4902, 4);
    expect(eight.high).toBeCloseTo(0.9433, 4);
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 4);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    const all = wilsonInterval(50, 50);
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(0.9287, 4);
  });

  it("Bonferroni: 1 − claims × (1 − p), never below 0", () => {
    expect(bonferroniConfidence(0.999, 10)).toBeCloseTo(0.99, 12);
    expect(bonferroniConfidence(0.9, 20)).toBe(0);
    expect(bonferroniConfidence(0.8, 0)).toBe(0.8);
  });
});

describe("slices", () => {
  it("groups hours in 3-hour blocks and names weekdays from the local date", () => {
    expect(hourBlockOf("00")).toBe("00-03");
    expect(hourBlockOf("09")).toBe("09-12");
    expect(hourBlockOf("11")).toBe("09-12");
    expect(hourBlockOf("23")).toBe("21-24");
    expect(hourBlockOf("24")).toBeUndefined();
    expect(hourBlockOf("")).toBeUndefined();
    expect(hourBlockOf("x")).toBeUndefined();
    expect(labelOf("hour", "09-12")).toBe("9:00–12:00");
    expect(labelOf("weekday", "tuesday")).toBe("Tuesday");
    expect(labelOf("energy", "low")).toBe("low energy");
    expect(labelOf("category", "Work")).toBe("Work");
    // 15 June 2025 was a Sunday.
    expect(weekdayOf(TO)).toBe("sunday");
    expect(weekdayOf(addDays(TO, 2))).toBe("tuesday");
  });
});

const row = (
  day: string,
  dim: RollupInput["dim"],
  key: string,
  counters: Partial<RollupInput>,
): RollupInput => ({
  day,
  dim,
  key,
  ...ZERO_COUNTERS,
  ...counters,
});

const MORNING = (m: Moment) => (m.hour >= 9 && m.hour < 12 ? 0.85 : 0.45);

describe("patterns: the rule (confidence > 0.7 and at least 15 data points)", () => {
  it("recovers a planted pattern: focus completion 85% in the morning against 45% elsewhere, over 90 days", () => {
    const rows = generateHistory({
      seed: "planted-0",
      to: TO,
      days: 90,
      sessionsPerDay: 3,
      focusCompletion: MORNING,
    });
    const report = findPatterns(rows, TO);
    const found = report.patterns.find((p) => p.metric === "focus_completion" && p.dimension === "hour");
    expect(found).toMatchObject({ key: "09-12", label: "9:00–12:00", direction: "higher" });
    expect(found?.confidence).toBeGreaterThan(MIN_CONFIDENCE);
    expect(found?.sample_size).toBeGreaterThanOrEqual(MIN_SAMPLES);
    expect(found?.rate).toBeGreaterThan(0.75);
    expect(found?.rate_elsewhere).toBeLessThan(0.55);
    expect(found?.interval.low).toBeLessThan(found?.rate as number);
    expect(found?.interval.high).toBeGreaterThan(found?.rate as number);
    expect(found?.sentence).toMatch(
      /^You finish \d+% of the focus sessions you start between 9:00 and 12:00, against \d+% at other times \(\d+ sessions\)\.$/,
    );
    expect(report.examined).toBeGreaterThan(20);
  });

  it("recovers it in 95% of 90-day histories at three sessions a day (79% at two), and reports nothing else", () => {
    const recoveryAt = (sessionsPerDay: number) => {
      let recovered = 0;
      let spurious = 0;
      const N = 100;
      for (let i = 0; i < N; i++) {
        const { patterns } = findPatterns(
          generateHistory({
            seed: `planted-${i}`,
            to: TO,
            days: 90,
            sessionsPerDay,
            focusCompletion: MORNING,
          }),
          TO,
        );
        if (
          patterns.some(
            (p) => p.metric === "focus_completion" && p.key === "09-12" && p.direction === "higher",
          )
        )
          recovered++;
        // Other hour blocks may show as lower than the rest: the same fact seen from their side.
        spurious += patterns.filter(
          (p) => !(p.metric === "focus_completion" && p.dimension === "hour"),
        ).length;
      }
      return { rate: recovered / N, spurious };
    };
    // Measured: 98 of 100 at three sessions a day, 79 of 100 at two (the price of staying quiet on noise).
    const three = recoveryAt(3);
    expect(three.rate).toBeGreaterThanOrEqual(0.95);
    expect(three.spurious).toBe(0);
    const two = recoveryAt(2);
    expect(two.rate).toBeGreaterThanOrEqual(0.75);
    expect(two.spurious).toBe(0);
  });

  it("stays quiet on pure noise: no pattern in at least 99% of 300 histories of realistic size", () => {
    const sizes = [90, 180, 400];
    let noisy = 0;
    const N = 300;
    for (let i = 0; i < N; i++) {
      const spec: HistorySpec = {
        seed: `noise-${i}`,
        to: TO,
        days: sizes[i % 3] as number,
        sessionsPerDay: 0.5 + (i % 5) * 0.6,
        timedPerDay: 0.3 + (i % 4) * 0.4,
        checkinsPerDay: 0.4 + (i % 3) * 0.8,
        activeDayRate: 0.5 + (i % 4) * 0.12,
      };
      if (findPatterns(generateHistory(spec), TO).patterns.length > 0) noisy++;
    }
    // Measured: 1 of 300.
    expect(noisy / N).toBeLessThanOrEqual(0.01);
  });

  it("stays quiet on noise with good and hard days (rates swinging ±15 points day to day) in at least 99%", () => {
    let noisy = 0;
    const N = 200;
    for (let i = 0; i < N; i++) {
      const spec: HistorySpec = {
        seed: `swing-${i}`,
        to: TO,
        days: [90, 180, 400][i % 3] as number,
        sessionsPerDay: 2,
        timedPerDay: 1,
        checkinsPerDay: 1.5,
        daySwing: 0.15,
      };
      if (findPatterns(generateHistory(spec), TO).patterns.length > 0) noisy++;
    }
    // Measured: 2 of 200 — clustered days make slices noisier than counts suggest; still within 1%.
    expect(noisy / N).toBeLessThanOrEqual(0.01);
  });

  it("never reports a slice with fewer than 15 data points, however extreme", () => {
    const days = Array.from({ length: 30 }, (_, i) => addDays(TO, -i));
    const extreme = (morning: number) => [
      // Every morning session finished; almost none of the others.
      ...days.slice(0, morning).map((d) => row(d, "hour", "10", { focusSessions: 1, focusCompleted: 1 })),
      ...days.map((d) => row(d, "hour", "15", { focusSessions: 4, focusCompleted: 0 })),
    ];
    const fourteen = findPatterns(extreme(14), TO);
    expect(fourteen.patterns.filter((p) => p.key === "09-12")).toEqual([]);
    expect(fourteen.examined).toBeGreaterThan(0);
    // One more session and the same fact is reported.
    const fifteen = findPatterns(extreme(15), TO);
    expect(fifteen.patterns.find((p) => p.key === "09-12")).toMatchObject({
      sample_size: 15,
      rate: 1,
      direction: "higher",
    });
  });

  it("never reports from small histories: every slice under 15 data points, over 200 of them", () => {
    for (let i = 0; i < 200; i++) {
      const rows = generateHistory({
        seed: `tiny-${i}`,
        to: TO,
        days: 14,
        sessionsPerDay: 0.8,
        timedPerDay: 0.5,
        checkinsPerDay: 0.8,
        focusCompletion: MORNING,
        onTime: (m) => (m.category === "Work" ? 0.95 : 0.1),
      });
      const report = findPatterns(rows, TO);
      for (const p of report.patterns) expect(p.sample_size).toBeGreaterThanOrEqual(MIN_SAMPLES);
      expect(report.patterns.filter((p) => p.metric !== "active_days")).toEqual([]);
    }
  });

  it("finds lower rates too, in every dimension and metric, with a sentence for each", () => {
    const rows = generateHistory({
      seed: "everything",
      to: TO,
      days: 400,
      sessionsPerDay: 3,
      timedPerDay: 2,
      checkinsPerDay: 3,
      focusCompletion: (m) => (m.energy === "low" ? 0.2 : m.weekday === 5 ? 0.3 : 0.7),
      onTime: (m) => (m.category === "Work" ? 0.2 : m.hour >= 18 ? 0.3 : 0.7),
      lowEnergy: (m) => (m.hour >= 15 && m.hour < 18 ? 0.7 : 0.2),
      activeDayRate: ({ weekday }) => (weekday === 7 ? 0.1 : 0.9),
    });
    const { patterns } = findPatterns(rows, TO);
    const has = (metric: string, dimension: string, key: string, direction: string) =>
      patterns.some(
        (p) => p.metric === metric && p.dimension === dimension && p.key === key && p.direction === direction,
      );
    expect(has("focus_completion", "energy", "low", "lower")).toBe(true);
    expect(has("focus_completion", "weekday", "friday", "lower")).toBe(true);
    expect(has("on_time", "category", "Work", "lower")).toBe(true);
    expect(has("low_energy", "hour", "15-18", "higher")).toBe(true);
    expect(has("active_days", "weekday", "sunday", "lower")).toBe(true);
    for (const p of patterns) {
      expect(p.confidence).toBeGreaterThan(MIN_CONFIDENCE);
      expect(Math.abs(p.rate - p.rate_elsewhere)).toBeGreaterThan(MARGIN);
      expect(p.sentence).not.toMatch(/undefined|NaN/);
    }
    const sentences = Object.fromEntries(
      patterns.map((p) => [`${p.metric}/${p.dimension}/${p.key}`, p.sentence]),
    );
    expect(sentences["on_time/category/Work"]).toMatch(
      /^\d+% of your timed Work tasks come in within their estimate, against \d+% in other categories \(\d+ tasks\)\.$/,
    );
    expect(sentences["low_energy/hour/15-18"]).toMatch(
      /^\d+% of your energy check-ins between 15:00 and 18:00 say low/,
    );
    expect(sentences["active_days/weekday/sunday"]).toMatch(
      /^You get at least one step done on \d+% of Sundays, against \d+% of other days \(\d+ Sundays\)\.$/,
    );
    expect(sentences["focus_completion/energy/low"]).toMatch(
      /^You finish \d+% of your focus sessions at low energy/,
    );
  });

  it("counts active days from the first day with any activity, so days before someone started are not rest days", () => {
    const rows = [
      row(addDays(TO, -6), "all", "", { stepsCompleted: 2 }),
      row(addDays(TO, -1), "all", "", { stepsCompleted: 1 }),
    ];
    const active = tallySlices(rows, TO).filter((t) => t.metric === "active_days");
    expect(active.reduce((t, s) => t + s.trials, 0)).toBe(6);
    expect(active.reduce((t, s) => t + s.successes, 0)).toBe(2);
    expect(tallySlices([], TO)).toEqual([]);
  });

  it("does not count today among active or rest days: it is not over", () => {
    const today = weekdayOf(TO);
    const week = (withToday: boolean) =>
      tallySlices(
        [
          row(addDays(TO, -7), "all", "", { stepsCompleted: 1 }),
          ...(withToday ? [row(TO, "all", "", { stepsCompleted: 3 })] : [row(TO, "all", "", { xp: 5 })]),
        ],
        TO,
      ).find((t) => t.metric === "active_days" && t.key === today);
    // A week ago is the only day of today's weekday that is over, stepped or not today.
    expect(week(false)).toMatchObject({ successes: 1, trials: 1 });
    expect(week(true)).toMatchObject({ successes: 1, trials: 1 });
    // Only today: nothing over yet, nothing counted.
    expect(
      tallySlices([row(TO, "all", "", { stepsCompleted: 2 })], TO).filter((t) => t.metric === "active_days"),
    ).toEqual([]);
  });

  it("defines m as the code counts it: every slice compared with a rest that has data, reportable or not", () => {
    // A morning pattern plus slices far too small to report: they still count in m (`examined`).
    const days = Array.from({ length: 40 }, (_, i) => addDays(TO, -i));
    const rows = [
      ...days.map((d) => row(d, "hour", "10", { focusSessions: 1, focusCompleted: 1 })),
      ...days.map((d) => row(d, "hour", "15", { focusSessions: 2, focusCompleted: 0 })),
      row(TO, "hour", "20", { focusSessions: 1, focusCompleted: 1 }),
      row(TO, "category", "Work", { timedTasks: 2, onTimeTasks: 1 }),
      row(TO, "category", "Health", { timedTasks: 1, onTimeTasks: 0 }),
    ];
    const report = findPatterns(rows, TO);
    const small = tallySlices(rows, TO).filter((t) => t.trials < MIN_SAMPLES);
    expect(small.length).toBeGreaterThanOrEqual(3);
    // Every slice with data whose rest has data is compared, the small ones included.
    expect(report.examined).toBe(
      tallySlices(rows, TO).filter((t, _, all) =>
        all.some((o) => o !== t && o.metric === t.metric && o.dimension === t.dimension),
      ).length,
    );
    const morning = report.patterns.find((p) => p.key === "09-12");
    expect(morning).toBeDefined();
    // The definition's formula, with m = examined, gives the confidence reported.
    const p = probabilityExceedsBy(posterior(40, 40), posterior(1, 81), MARGIN);
    expect(morning?.confidence).toBe(
      Math.floor(Math.max(0, 1 - 2 * report.examined * (1 - p)) * 1000) / 1000,
    );
    expect(STATISTIC_DEFINITION).toContain("m being every slice compared with the rest of its dimension");
    expect(STATISTIC_DEFINITION).toContain("however little: `examined`");
    expect(STATISTIC_DEFINITION).not.toMatch(/m being the slices examined \(at least 15/);
  });
});
