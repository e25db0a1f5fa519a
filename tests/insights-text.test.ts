import { describe, expect, it } from "vitest";
import { ZERO_COUNTERS } from "../src/features/analytics/rollup-queries";
import { MAJORITY, OVER, OVER_ALL } from "../src/features/insights/from-estimates";
import { QUIET_AFTER_DAYS } from "../src/features/insights/from-history";
import {
  acceptRephrasing,
  aiRephraser,
  aiWriter,
  keepsNumbers,
  localWriter,
  numbersIn,
  type Words,
} from "../src/features/insights/insight-writer";
import {
  buildInsights,
  confidencePercent,
  INSIGHT_KINDS,
  insightIdOf,
  type LocalInsight,
  MAX_INSIGHTS,
  mondayOf,
  type StreakFact,
  spokenDate,
} from "../src/features/insights/insights";
import {
  findPatterns,
  PATTERN_METRICS,
  type Pattern,
  type RollupInput,
  sentenceOf,
} from "../src/features/insights/patterns";
import {
  cacheMemory,
  REPHRASING_TTL_SECONDS,
  type Remembered,
  type RephrasingMemory,
  rememberingWriter,
  rephrasingKey,
} from "../src/features/insights/rephrasing-memory";
import { DEFAULT_DAYS } from "../src/features/insights/schemas";
import { labelOf } from "../src/features/insights/slices";
import { FORBIDDEN_WORDS, forbiddenWordIn } from "../src/features/insights/words";
import { seededRandom } from "../src/lib/seeded-random";
import { addDays } from "../src/lib/time";
import { CATEGORIES, generateHistory, type HistorySpec, type Moment } from "./helpers/insight-histories";

// A pure test: any fixed date will do (nothing here reaches the runtime's clock).
const TODAY = "2025-06-18";

/** Words that judge or shame: none may ever appear in an insight, whoever wrote it. */
const NEVER = [
  "lazy",
  "fail",
  "failed",
  "failure",
  "failing",
  "behind",
  "should",
  "should have",
  "only managed",
  "bad",
  "poor",
  "poorly",
  "disappointing",
  "disappointed",
  "worse",
  "worst",
  "unproductive",
  "procrastinate",
  "procrastination",
  "waste",
  "wasted",
  "not enough",
  "must",
  "guilt",
  "shame",
  "excuse",
  "sloppy",
  "terrible",
  "careless",
  "pathetic",
  "useless",
  "missed",
  "slacking",
];
const NEVER_RE = new RegExp(`\\b(?:${NEVER.join("|")})\\b`, "i");

function insightsOf(
  rows: RollupInput[],
  days: number,
  today = TODAY,
  more: { hour?: number; streak?: StreakFact } = {},
): LocalInsight[] {
  const { patterns } = findPatterns(rows, today);
  return buildInsights({ rows, patterns, today, days, hour: more.hour ?? 12, streak: more.streak });
}

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

/** Many kinds of people and weeks: planted patterns of every sort, estimates off both ways, quiet weeks. */
interface CorpusInput {
  rows: RollupInput[];
  days: number;
  today: string;
  hour: number;
  streak?: StreakFact | undefined;
}

function corpus(): CorpusInput[] {
  const random = seededRandom("insight-corpus");
  const inputs: CorpusInput[] = [];
  for (let i = 0; i < 120; i++) {
    const days = [14, 30, 90, 180, 400][i % 5] as number;
    const today = addDays(TODAY, -Math.floor(random() * 7));
    const hot = Math.floor(random() * 8) * 3;
    const category = CATEGORIES[i % CATEGORIES.length];
    const spec: HistorySpec = {
      seed: `corpus-${i}`,
      to: today,
      days,
      sessionsPerDay: random() * 4,
      timedPerDay: random() * 2,
      checkinsPerDay: i % 4 === 0 ? 0 : random() * 3,
      activeDayRate: 0.3 + random() * 0.7,
      stepsPerActiveDay: 1 + random() * 10,
      focusCompletion: (m: Moment) => (m.hour >= hot && m.hour < hot + 3 ? 0.9 : 0.4),
      onTime: (m: Moment) => (m.category === category ? 0.15 : 0.65),
      lowEnergy: (m: Moment) => (m.hour >= 15 && m.hour < 18 ? 0.75 : 0.2),
      overrun: (m: Moment) => (m.category === category ? 0.4 + random() * 2 : 1),
      daySwing: random() * 0.1,
    };
    let rows = generateHistory(spec);
    const week = mondayOf(today);
    if (i % 6 === 1) rows = rows.filter((r) => r.day < week); // a quiet week
    if (i % 6 === 2) rows.push(row(today, "all", "", { interruptions: 9, stepsCompleted: 40 })); // a busy one
    const streak =
      i % 3 === 0 ? { current_days: 3 + (i % 40), at_risk: i % 2 === 0, last_active_day: today } : undefined;
    inputs.push({ rows, days, today, hour: (i * 5) % 24, streak });
  }
  inputs.push({ rows: [], days: 90, today: TODAY, hour: 9 });
  inputs.push({ rows: [row(TODAY, "all", "", { stepsCompleted: 1 })], days: 14, today: TODAY, hour: 9 });
  return inputs;
}

describe("insights: plain, kind words", () => {
  const results = corpus().map((input) => ({
    input,
    insights: insightsOf(input.rows, input.days, input.today, input),
  }));
  const all = results.flatMap((r) => r.insights);

  it("never uses a word that judges or shames, in anything the generator can write", () => {
    const offenders = all
      .filter((i) => NEVER_RE.test(`${i.title} ${i.body}`) || forbiddenWordIn(`${i.title} ${i.body}`))
      .map((i) => `${i.title} — ${i.body}`);
    expect(offenders).toEqual([]);
    // The corpus reaches every kind and many templates, so the check above means something.
    expect(new Set(all.map((i) => i.kind))).toEqual(new Set(INSIGHT_KINDS));
    const templates = new Set(
      all.map((i) =>
        i.title.replace(/[\d.,:–×%+]+/g, "#").replace(/ (Work|Personal|Health|Academic|Creative)\b/g, " C"),
      ),
    );
    expect(templates.size).toBeGreaterThanOrEqual(20);
  });

  it("writes whole sentences with real numbers: no NaN, undefined or Infinity, and lengths a screen can hold", () => {
    for (const i of all) {
      expect(`${i.title} ${i.body}`).not.toMatch(/NaN|undefined|Infinity|null|\[object/);
      expect(i.title.length).toBeLessThanOrEqual(100);
      expect(i.body.length).toBeLessThanOrEqual(500);
      expect(i.body).toMatch(/[.!]$/);
      expect(i.priority).toBeGreaterThanOrEqual(1);
      expect(i.priority).toBeLessThanOrEqual(100);
    }
  });

  it("keeps at most 12, most important first, with ids unique in an answer", () => {
    for (const { insights } of results) {
      expect(insights.length).toBeLessThanOrEqual(MAX_INSIGHTS);
      expect(new Set(insights.map((i) => i.insight_id)).size).toBe(insights.length);
      for (let k = 1; k < insights.length; k++) {
        expect((insights[k] as LocalInsight).priority).toBeLessThanOrEqual(
          (insights[k - 1] as LocalInsight).priority,
        );
      }
    }
  });

  it("never invents a pattern: each pattern insight is a reported pattern, with its numbers", () => {
    for (const { input, insights } of results) {
      const { patterns } = findPatterns(input.rows, input.today);
      for (const i of insights.filter((x) => x.kind === "pattern")) {
        const p = patterns.find(
          (q) =>
            q.metric === i.evidence.metric &&
            q.dimension === i.evidence.dimension &&
            q.key === i.evidence.key,
        );
        expect(p).toBeDefined();
        expect(i.evidence.confidence).toBe(p?.confidence);
        expect(i.body).toContain(p?.sentence);
      }
    }
  });

  it("gives the same id to the same facts, and a new one when a fact changes", () => {
    const [first] = results;
    const again = insightsOf(
      first?.input.rows ?? [],
      first?.input.days ?? 90,
      first?.input.today,
      first?.input,
    );
    expect(again.map((i) => i.insight_id)).toEqual(first?.insights.map((i) => i.insight_id));
    expect(insightIdOf("celebration", "streak", { streak_days: 4 })).toBe(
      insightIdOf("celebration", "streak", { streak_days: 4 }),
    );
    expect(insightIdOf("celebration", "streak", { streak_days: 4 })).not.toBe(
      insightIdOf("celebration", "streak", { streak_days: 5 }),
    );
    // Key order is not a fact.
    expect(insightIdOf("warning", "x", { a: 1, b: 2 })).toBe(insightIdOf("warning", "x", { b: 2, a: 1 }));
    expect(insightIdOf("warning", "x", { a: 1 })).toMatch(/^ins_[0-9a-f]{16}$/);
  });

  it("with nothing yet, says something gentle and useful, and claims no pattern", () => {
    const empty = insightsOf([], 90);
    expect(empty.map((i) => i.kind)).toEqual(["suggestion", "suggestion"]);
    expect(empty.map((i) => i.title)).toContain("Log your energy to see your patterns");
    const few = insightsOf(
      [row(TODAY, "all", "", { stepsCompleted: 2, focusSessions: 3, focusCompleted: 2 })],
      30,
    );
    expect(few.every((i) => i.kind === "suggestion")).toBe(true);
    expect(few.find((i) => i.evidence.focus_sessions === 3)?.body).toContain("So far: 3.");
  });

  it("celebrates a streak, a best week, a big day and a milestone", () => {
    const rows: RollupInput[] = [];
    for (let d = 0; d < 60; d++)
      rows.push(row(addDays(TODAY, -d), "all", "", { stepsCompleted: d < 5 ? 20 : 3 }));
    const streak = { current_days: 60, at_risk: false, last_active_day: TODAY };
    const titles = insightsOf(rows, 60, TODAY, { streak }).map((i) => i.title);
    expect(titles).toContain("A 60-day streak");
    expect(titles).toContain("Your best week yet");
    expect(titles).toContain("250+ steps done");
    expect(titles).toContain("A big day this week");
  });

  it("tells the streak the dashboard shows (gamification's, freezes included), and none without it", () => {
    // Ten days in a row in the rollups, but gamification counts 4 (say, a day it never saw as active).
    const rows = Array.from({ length: 10 }, (_, d) =>
      row(addDays(TODAY, -d), "all", "", { stepsCompleted: 2 }),
    );
    const streak = insightsOf(rows, 30, TODAY, {
      streak: { current_days: 4, at_risk: true, last_active_day: addDays(TODAY, -1) },
    }).find((i) => i.evidence.streak_days !== undefined);
    expect(streak).toMatchObject({ title: "A 4-day streak", evidence: { streak_days: 4 } });
    expect(streak?.body).toBe("Your daily streak is at 4 days. One small step today keeps it going.");
    expect(insightsOf(rows, 30).some((i) => i.evidence.streak_days !== undefined)).toBe(false);
  });

  it("compares a best week only with whole weeks: none begun before the range or the first active day", () => {
    // TODAY is a Wednesday; 60 days back is a Sunday, so the week holding it is only one day of data.
    const rows: RollupInput[] = [];
    for (let d = 0; d < 60; d++)
      rows.push(row(addDays(TODAY, -d), "all", "", { stepsCompleted: d < 3 ? 20 : 3 }));
    const best = insightsOf(rows, 60).find((i) => i.title === "Your best week yet");
    expect(best?.evidence).toMatchObject({ steps_this_week: 60, weeks_compared: 8 });
    expect(best?.body).toContain("any of the 8 whole weeks before it");
    // The range cuts a week the user was active in: that week is not compared either.
    const longer: RollupInput[] = [];
    for (let d = 0; d < 100; d++)
      longer.push(row(addDays(TODAY, -d), "all", "", { stepsCompleted: d < 3 ? 20 : 3 }));
    const cut = insightsOf(
      longer.filter((r) => r.day >= addDays(TODAY, -29)),
      30,
    ).find((i) => i.title === "Your best week yet");
    // 30 days from a Wednesday: the range starts on a Tuesday; 3 whole weeks lie between it and this week.
    expect(cut?.evidence.weeks_compared).toBe(3);
  });

  it("calls a big day 'this week' only when it is in this week", () => {
    const monday = "2025-06-16";
    const rows = [
      row(addDays(monday, -3), "all", "", { stepsCompleted: 12 }), // last Friday
      row(addDays(monday, -10), "all", "", { stepsCompleted: 4 }),
      row(monday, "all", "", { stepsCompleted: 2 }),
    ];
    const day = insightsOf(rows, 30, monday).find((i) => i.evidence.day !== undefined);
    expect(day).toMatchObject({ title: "Your biggest day lately", evidence: { day: "2025-06-13" } });
    const sunday = insightsOf(rows, 30, "2025-06-15").find((i) => i.evidence.day !== undefined);
    expect(sunday?.title).toBe("A big day this week");
  });

  it("compares this week with last week cut at the same hour, and says 'quieter' only once the week is under way", () => {
    // Last Monday's 12 steps came at 14:00: on a Monday at 9:00 there is nothing to compare yet.
    const monday = "2025-06-16";
    const lastMonday = addDays(monday, -7);
    const history = [
      row(lastMonday, "all", "", { stepsCompleted: 12 }),
      row(lastMonday, "hour", "14", { stepsCompleted: 12 }),
      row(addDays(monday, -20), "all", "", { stepsCompleted: 1 }),
    ];
    const mondayMorning = insightsOf(history, 30, monday, { hour: 9 });
    expect(mondayMorning.map((i) => i.title)).not.toContain("A quieter week so far");
    // Tuesday night with Monday and Tuesday of last week far busier: still too early to say.
    const tuesday = addDays(monday, 1);
    const busy = [
      ...history,
      row(addDays(tuesday, -7), "all", "", { stepsCompleted: 20 }),
      row(addDays(tuesday, -7), "hour", "10", { stepsCompleted: 20 }),
    ];
    expect(insightsOf(busy, 30, tuesday, { hour: 23 }).map((i) => i.title)).not.toContain(
      "A quieter week so far",
    );
    expect(QUIET_AFTER_DAYS).toBe(2);

    // Wednesday at 10:00: last Wednesday counts up to 10:00 (4 steps at 8:00), not its 20 evening steps.
    const wednesday = addDays(monday, 2);
    const lastWednesday = addDays(wednesday, -7);
    const rows = [
      row(lastMonday, "all", "", { stepsCompleted: 5 }),
      row(addDays(lastMonday, 1), "all", "", { stepsCompleted: 5 }),
      row(lastWednesday, "all", "", { stepsCompleted: 24 }),
      row(lastWednesday, "hour", "08", { stepsCompleted: 4 }),
      row(lastWednesday, "hour", "20", { stepsCompleted: 20 }),
      row(monday, "all", "", { stepsCompleted: 3 }),
      row(addDays(monday, 1), "all", "", { stepsCompleted: 3 }),
    ];
    const quiet = insightsOf(rows, 30, wednesday, { hour: 10 }).find(
      (i) => i.title === "A quieter week so far",
    );
    expect(quiet?.evidence).toMatchObject({ steps_this_week: 6, steps_last_week: 14 });
    expect(quiet?.body).toContain("6 steps this week, against 14 at this point last week.");
    // In the evening, last Wednesday's evening counts too.
    const evening = insightsOf(rows, 30, wednesday, { hour: 21 }).find(
      (i) => i.title === "A quieter week so far",
    );
    expect(evening?.evidence.steps_last_week).toBe(34);
  });

  it("notices estimates, gently: a buffer for what ran long, a word for what was spot on", () => {
    const rows: RollupInput[] = [];
    for (let d = 0; d < 20; d++) {
      const day = addDays(TODAY, -d);
      rows.push(row(day, "category", "Work", { timedTasks: 1, estimatedMinutes: 20, actualMinutes: 30 }));
      rows.push(
        row(day, "category", "Health", {
          timedTasks: 2,
          estimatedMinutes: 40,
          actualMinutes: 42,
          onTimeTasks: 1,
        }),
      );
      rows.push(
        row(day, "category", "Personal", {
          timedTasks: 1,
          estimatedMinutes: 20,
          actualMinutes: 10,
          onTimeTasks: 1,
        }),
      );
      rows.push(
        row(day, "all", "", { timedTasks: 4, estimatedMinutes: 80, actualMinutes: 82, onTimeTasks: 2 }),
      );
    }
    const byTitle = new Map(insightsOf(rows, 30).map((i) => [i.title, i]));
    // Work and Personal against the other categories are reported on_time patterns here: the present
    // tense is earned (the past tense without one: see the next test).
    const work = byTitle.get("Work tasks often take about 1.5× your estimates");
    expect(work?.kind).toBe("suggestion");
    expect(work?.body).toBe(
      "Across 20 timed Work tasks, the time they took was about 1.5× the estimate, and 20 of them ran past it. Adding a buffer may help.",
    );
    expect(work?.evidence).toMatchObject({
      timed_tasks: 20,
      on_time_tasks: 0,
      estimated_minutes: 400,
      actual_minutes: 600,
      ratio: 1.5,
    });
    expect(byTitle.get("Your Health estimates were spot on")?.kind).toBe("celebration");
    expect(byTitle.get("Personal tasks often go quicker than planned")?.body).toContain("0.5×");
  });

  it("claims nothing about estimates from one outlier, or from fewer than 15 timed tasks", () => {
    // 15 Work tasks estimated at 30 minutes: 14 took 28, one took 300. The sum says 1.5×; the tasks do not.
    const outlier: RollupInput[] = [];
    for (let d = 0; d < 15; d++) {
      const c =
        d === 0
          ? { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 300, onTimeTasks: 0 }
          : { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 28, onTimeTasks: 1 };
      outlier.push(row(addDays(TODAY, -d), "category", "Work", c), row(addDays(TODAY, -d), "all", "", c));
    }
    const said = insightsOf(outlier, 30);
    expect(said.filter((i) => i.evidence.ratio !== undefined)).toEqual([]);
    expect(said.map((i) => i.title).join(" | ")).not.toMatch(/estimate|longer than planned/i);

    // 15 tasks, 12 of them over: the ratio and the tasks agree, told in the past tense.
    const agreeing = (n: number): RollupInput[] =>
      Array.from({ length: n }, (_, d) => {
        const c =
          d < n - 3
            ? { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 50, onTimeTasks: 0 }
            : { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 25, onTimeTasks: 1 };
        return [row(addDays(TODAY, -d), "category", "Work", c), row(addDays(TODAY, -d), "all", "", c)];
      }).flat();
    const told = new Map(insightsOf(agreeing(15), 30).map((i) => [i.title, i]));
    expect(told.get("Work tasks took about 1.5× your estimates")?.body).toBe(
      "Across 15 timed Work tasks, the time they took was about 1.5× the estimate, and 12 of them ran past it. Adding a buffer may help.",
    );
    expect(told.get("Tasks have been taking longer than planned")?.kind).toBe("warning");
    // 14 timed tasks: too few to say anything.
    expect(
      insightsOf(agreeing(14), 30).filter(
        (i) => i.evidence.ratio !== undefined || i.title.includes("longer"),
      ),
    ).toEqual([]);
    expect([OVER, OVER_ALL, MAJORITY]).toEqual([1.25, 1.5, 0.5]);
  });

  it("says 'take' (the present) only when a reported on_time pattern stands behind it", () => {
    const rows = Array.from({ length: 15 }, (_, d) => {
      const c = { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 28, onTimeTasks: 1 };
      const late = { timedTasks: 1, estimatedMinutes: 30, actualMinutes: 300, onTimeTasks: 0 };
      return row(addDays(TODAY, -d), "category", "Work", d === 0 ? late : c);
    });
    const base = {
      metric: "on_time",
      dimension: "category",
      key: "Work",
      rate: 0.3,
      rate_elsewhere: 0.7,
      sample_size: 40,
    } as const;
    const pattern: Pattern = {
      ...base,
      label: "Work",
      sample_size_elsewhere: 80,
      interval: { low: 0.2, high: 0.45 },
      confidence: 0.9,
      direction: "lower",
      sentence: sentenceOf(base),
    };
    const titles = buildInsights({ rows, patterns: [pattern], today: TODAY, hour: 12, days: 30 }).map(
      (i) => i.title,
    );
    expect(titles).toContain("Work tasks often take about 1.5× your estimates");
    expect(titles).not.toContain("Work tasks took about 1.5× your estimates");
  });

  it("titles every kind of pattern in plain words, whatever its slice and direction", () => {
    const slices: [Pattern["dimension"], string][] = [
      ["hour", "09-12"],
      ["weekday", "tuesday"],
      ["energy", "low"],
      ["category", "Work"],
    ];
    const patterns: Pattern[] = [];
    for (const metric of PATTERN_METRICS)
      for (const [dimension, key] of slices)
        for (const direction of ["higher", "lower"] as const) {
          if (metric === "active_days" && dimension !== "weekday") continue;
          const base = { metric, dimension, key, rate: 0.8, rate_elsewhere: 0.4, sample_size: 40 };
          patterns.push({
            ...base,
            label: labelOf(dimension, key),
            sample_size_elsewhere: 80,
            interval: { low: 0.6, high: 0.9 },
            confidence: 0.9,
            direction,
            sentence: sentenceOf(base),
          });
        }
    const texts = patterns.flatMap((p) =>
      buildInsights({ rows: [], patterns: [p], today: TODAY, hour: 12, days: 90 })
        .filter((i) => i.kind !== "suggestion" || i.evidence.metric !== undefined)
        .map((i) => `${i.title} | ${i.body}`),
    );
    expect(texts.length).toBeGreaterThan(patterns.length);
    for (const text of texts) {
      expect(text).not.toMatch(/tasks tasks|Tasks on \w+ tasks|NaN|undefined/);
      expect(text).not.toMatch(NEVER_RE);
    }
    expect(texts.some((t) => t.startsWith("Work tasks often take longer than planned |"))).toBe(true);
    expect(texts.some((t) => t.startsWith("Focus comes easier 9:00–12:00 |"))).toBe(true);
    expect(texts.some((t) => t.startsWith("Tuesdays are often rest days |"))).toBe(true);
  });

  it("helpers: dates as people say them, Mondays, and confidences that never claim 100%", () => {
    expect(spokenDate("2025-06-17")).toBe("Tuesday 17 June");
    expect(mondayOf("2025-06-18")).toBe("2025-06-16");
    expect(mondayOf("2025-06-16")).toBe("2025-06-16");
    expect(mondayOf("2025-06-22")).toBe("2025-06-16");
    expect(confidencePercent(0.999)).toBe("99.9%");
    expect(confidencePercent(0.99999)).toBe("99.9%");
    expect(confidencePercent(0.874)).toBe("87%");
  });
});

describe("the insight writer", () => {
  const local: LocalInsight[] = [
    {
      insight_id: "ins_a",
      kind: "celebration",
      title: "5 days in a row",
      body: "You've done at least one step every day for 5 days. Small steps add up.",
      evidence: { streak_days: 5 },
      priority: 80,
    },
    {
      insight_id: "ins_b",
      kind: "suggestion",
      title: "Work tasks take about 1.5× your estimates",
      body: "Across 20 timed Work tasks, the time they took was about 1.5× the estimate. Adding a buffer may help.",
      evidence: { ratio: 1.5 },
      priority: 55,
    },
  ];

  it("finds forbidden words as whole words, in any case and with either apostrophe", () => {
    expect(forbiddenWordIn("A small failure")).toBe("failure");
    expect(forbiddenWordIn("You FELL BEHIND")).toBe("BEHIND");
    expect(forbiddenWordIn("you should’ve started")).toBe("should’ve");
    expect(forbiddenWordIn("A new badge!")).toBeUndefined();
    expect(forbiddenWordIn("Trust the process")).toBeUndefined();
  });

  it("reads the numbers a text states, in the order it states them", () => {
    expect(numbersIn("85% of 1.5× on 14 May, 85 again")).toEqual(["85", "1.5", "14", "85"]);
    expect(numbersIn("no numbers")).toEqual([]);
  });

  it("refuses a rephrasing that swaps numbers, or moves one between title and body", () => {
    const focus: LocalInsight = {
      insight_id: "ins_f",
      kind: "pattern",
      title: "Focus comes easier 9:00–12:00",
      body: "You finish 85% of the focus sessions you start between 9:00 and 12:00, against 45% at other times (40 sessions).",
      evidence: { rate: 0.85, rate_elsewhere: 0.45 },
      priority: 70,
    };
    const answer = (title: string, body: string) =>
      acceptRephrasing({ insights: [{ insight_id: "ins_f", title, body }] }, [focus]);
    const swapped =
      "You finish 45% of the focus sessions you start between 9:00 and 12:00, against 85% at other times (40 sessions).";
    expect(answer(focus.title, swapped)).toBeUndefined();
    expect(keepsNumbers({ title: focus.title, body: swapped }, focus)).toBe(false);
    // The hours moved from the title to the body: the same multiset overall, still refused.
    expect(answer("Mornings are your focus time", `From 9:00 to 12:00: ${focus.body}`)).toBeUndefined();
    // The same numbers in the same places, in warmer words: accepted.
    const warm = answer(
      "Focus flows 9:00–12:00",
      "You wrap up 85% of the focus sessions you begin between 9:00 and 12:00, compared with 45% at other times (40 sessions).",
    );
    expect(warm?.get("ins_f")?.title).toBe("Focus flows 9:00–12:00");
  });

  it("accepts a rephrasing only with the same numbers, no forbidden word, and a known id", () => {
    const answer = {
      insights: [
        {
          insight_id: "ins_a",
          title: "Five? No: 5 days running!",
          body: "5 days in a row with a step done. Lovely.",
        },
        {
          insight_id: "ins_b",
          title: "Work runs long",
          body: "Work tasks take about 2× longer than planned.",
        },
        { insight_id: "ins_zzz", title: "Who am I", body: "An insight nobody asked for." },
      ],
    };
    const accepted = acceptRephrasing(answer, local);
    expect([...(accepted?.keys() ?? [])]).toEqual(["ins_a"]);
    const shaming = acceptRephrasing(
      { insights: [{ insight_id: "ins_a", title: "5 days", body: "5 days, but you are still behind." }] },
      local,
    );
    expect(shaming).toBeUndefined();
    expect(acceptRephrasing("Sure! Here you go", local)).toBeUndefined();
    expect(acceptRephrasing({ insights: [{ insight_id: "ins_a" }] }, local)).toBeUndefined();
    // Twice the same id: the first one stands.
    const twice = acceptRephrasing(
      {
        insights: [
          { insight_id: "ins_a", title: "5 days running", body: "A 5 day run of steps. Lovely." },
          { insight_id: "ins_a", title: "5 days again", body: "Again 5 days, lovely indeed." },
        ],
      },
      local,
    );
    expect(twice?.get("ins_a")?.title).toBe("5 days running");
  });

  it("uses Workers AI's words where they pass, the local words elsewhere, and says which", async () => {
    const calls: unknown[] = [];
    const ai = {
      run: async (_model: string, input: unknown) => {
        calls.push(input);
        return {
          response: {
            insights: [
              {
                insight_id: "ins_a",
                title: "5 days and counting",
                body: "That's 5 days in a row with a step. Lovely.",
              },
            ],
          },
        };
      },
    } as unknown as Ai;
    const written = await aiWriter(ai, 1000).write(local);
    expect(calls).toHaveLength(1);
    expect(JSON.stringify(calls[0])).toContain("ins_b");
    expect(written.map((i) => [i.insight_id, i.phrased_by, i.title])).toEqual([
      ["ins_a", "ai", "5 days and counting"],
      ["ins_b", "local", local[1]?.title],
    ]);
    // Evidence and priority are never the model's.
    expect(written[0]?.evidence).toEqual(local[0]?.evidence);
    expect(await aiWriter(ai, 1000).write([])).toEqual([]);
  });

  it("falls back to the local words when the model hangs, within the timeout", async () => {
    const ai = { run: () => new Promise(() => {}) } as unknown as Ai;
    const started = Date.now();
    const written = await aiWriter(ai, 60).write(local);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(written.every((i) => i.phrased_by === "local")).toBe(true);
    expect(written.map((i) => i.body)).toEqual(local.map((i) => i.body));
  });

  it("asks Workers AI and tells an answer whose rephrasings were all refused from no answer at all", async () => {
    const answering = (response: unknown) => ({ run: async () => ({ response }) }) as unknown as Ai;
    const refused = await aiRephraser(
      answering({ insights: [{ insight_id: "ins_a", title: "6 days", body: "6 days in a row, lovely." }] }),
      1000,
    ).rephrase(local);
    // It answered (twice, both refused): the local words stand for each insight asked about.
    expect(refused).toEqual(
      new Map([
        ["ins_a", null],
        ["ins_b", null],
      ]),
    );
    expect(await aiRephraser(answering("Sure! Here you go"), 1000).rephrase(local)).toBeUndefined();
    expect(await aiRephraser(answering("{}"), 1000).rephrase([])).toEqual(new Map());
    expect(aiRephraser(answering("{}"), 1000).id).toMatch(/^ai:@cf\//);
    expect((await localWriter.write(local)).map((i) => i.phrased_by)).toEqual(["local", "local"]);
  });
});

/** A memory in a Map, counting what it is asked. */
function mapMemory(): RephrasingMemory & { entries: Map<string, Remembered> } {
  const entries = new Map<string, Remembered>();
  return {
    entries,
    get: async (key) => entries.get(key),
    put: async (key, value) => {
      entries.set(key, value);
    },
  };
}

describe("remembered rephrasings", () => {
  const insight = (id: string, days: number): LocalInsight => ({
    insight_id: id,
    kind: "celebration",
    title: `A ${days}-day streak`,
    body: `Your daily streak is at ${days} days. Small steps add up.`,
    evidence: { streak_days: days },
    priority: 80,
  });
  const a = insight("ins_a", 5);
  const b = insight("ins_b", 9);

  /** A rephraser that rewords `ins_a` and refuses the rest, counting who it was asked about. */
  function fakeRephraser(answer: "some" | "none" = "some") {
    const asked: string[][] = [];
    return {
      asked,
      rephraser: {
        id: "ai:test-model",
        rephrase: async (insights: readonly LocalInsight[]) => {
          asked.push(insights.map((i) => i.insight_id));
          if (answer === "none") return undefined;
          return new Map<string, Words | null>(
            insights.map((i) => [
              i.insight_id,
              i.insight_id === "ins_a"
                ? { title: "5 days and going", body: "5 days in a row now. Lovely." }
                : null,
            ]),
          );
        },
      },
    };
  }

  it("asks the model and the budget once: a second read answers from memory, a new insight alone is asked about", async () => {
    const memory = mapMemory();
    const { asked, rephraser } = fakeRephraser();
    let budget = 0;
    const writer = (userId: string) =>
      rememberingWriter({
        rephraser,
        memory,
        userId,
        allowed: async () => {
          budget++;
          return true;
        },
      });
    const first = await writer("usr_1").write([a, b]);
    expect(first.map((i) => [i.insight_id, i.phrased_by, i.title])).toEqual([
      ["ins_a", "ai", "5 days and going"],
      ["ins_b", "local", b.title],
    ]);
    expect([asked, budget]).toEqual([[["ins_a", "ins_b"]], 1]);
    // A refresh: the same words, nothing asked, no budget spent (a refusal is remembered too).
    expect(await writer("usr_1").write([a, b])).toEqual(first);
    expect([asked.length, budget]).toEqual([1, 1]);
    // A new insight: only it goes to the model.
    const c = insight("ins_c", 12);
    await writer("usr_1").write([a, b, c]);
    expect(asked[1]).toEqual(["ins_c"]);
    expect(budget).toBe(2);
    // Another user's memory is their own.
    await writer("usr_2").write([a]);
    expect(asked[2]).toEqual(["ins_a"]);
    // The same id with new local words (a new template) is new text to reword.
    await writer("usr_1").write([{ ...a, body: "Your streak: 5 days. Every one counts." }]);
    expect(asked[3]).toEqual(["ins_a"]);
  });

  it("remembers nothing when the budget is spent or the model gave no usable answer", async () => {
    const memory = mapMemory();
    const spent = fakeRephraser();
    const refused = await rememberingWriter({
      rephraser: spent.rephraser,
      memory,
      userId: "usr_1",
      allowed: async () => false,
    }).write([a]);
    expect(refused.map((i) => i.phrased_by)).toEqual(["local"]);
    expect(spent.asked).toEqual([]);
    const silent = fakeRephraser("none");
    const writer = rememberingWriter({
      rephraser: silent.rephraser,
      memory,
      userId: "usr_1",
      allowed: async () => true,
    });
    expect((await writer.write([a])).map((i) => i.phrased_by)).toEqual(["local"]);
    await writer.write([a]);
    expect(silent.asked).toEqual([["ins_a"], ["ins_a"]]);
    expect(memory.entries.size).toBe(0);
    // Nothing to write: nothing asked.
    expect(await writer.write([])).toEqual([]);
    expect(silent.asked).toHaveLength(2);
  });

  it("checks remembered words again: words that no longer pass give the local words", async () => {
    const memory = mapMemory();
    await memory.put(rephrasingKey("usr_1", "ai:test-model", a), {
      title: "5 days, finally",
      body: "5 days. Not bad for someone so far behind.",
    });
    const { asked, rephraser } = fakeRephraser();
    const [out] = await rememberingWriter({
      rephraser,
      memory,
      userId: "usr_1",
      allowed: async () => true,
    }).write([a]);
    expect(out).toMatchObject({ phrased_by: "local", body: a.body });
    expect(asked).toEqual([]);
  });

  it("keeps each rephrasing in the Cache API for 24 hours, under a key that names user, model and insight", async () => {
    const puts: { key: string; response: Response }[] = [];
    const stored = new Map<string, string>();
    const cache = {
      match: async (key: string) => {
        const text = stored.get(key);
        return text === undefined ? undefined : new Response(text);
      },
      put: async (key: string, response: Response) => {
        puts.push({ key, response: response.clone() });
        stored.set(key, await response.text());
      },
    } as unknown as Cache;
    let opened = 0;
    const memory = cacheMemory(async () => {
      opened++;
      return cache;
    });
    const key = rephrasingKey("usr_1", "ai:test-model", a);
    expect(key).toMatch(/^https:\/\/[^/]+\/v1\/usr_1\/ai%3Atest-model\/ins_a\/[0-9a-f]{16}$/);
    expect(await memory.get(key)).toBeUndefined();
    await memory.put(key, { title: "T", body: "B" });
    await memory.put(`${key}x`, null);
    expect(await memory.get(key)).toEqual({ title: "T", body: "B" });
    expect(await memory.get(`${key}x`)).toBeNull();
    expect(REPHRASING_TTL_SECONDS).toBe(86_400);
    expect(puts[0]?.response.headers.get("cache-control")).toBe("max-age=86400");
    expect(opened).toBe(1);
    // Something else under the key, or a cache that fails: a miss, never an error.
    stored.set(key, "not json");
    expect(await memory.get(key)).toBeUndefined();
    const broken = cacheMemory(async () => {
      throw new Error("no cache here");
    });
    expect(await broken.get(key)).toBeUndefined();
    await expect(broken.put(key, null)).resolves.toBeUndefined();
  });
});

// The README's section on patterns and insights, read as the code's documentation.
const readme = Object.values(
  import.meta.glob<string>("../README.md", { query: "?raw", import: "default", eager: true }),
)[0] as string;
const section = readme.slice(
  readme.indexOf("### Patterns and insights (BE-06)"),
  readme.indexOf("\n## ", readme.indexOf("### Patterns and insights (BE-06)")),
);

describe("the README says what the code does", () => {
  it("finds its section", () => {
    expect(section.length).toBeGreaterThan(1000);
  });

  it("names the scope the routes take: analytics:read", () => {
    expect(section).toContain("`analytics:read`");
    expect(section).not.toContain("tasks:read");
  });

  it("names the thresholds of the estimate insights and the default range as the code has them", () => {
    expect(section).toContain(`${OVER}×`);
    expect(section).toContain(`${OVER_ALL}×`);
    expect(section).not.toMatch(/about 1\.5× their estimates/);
    expect(section).toContain(`default ${DEFAULT_DAYS}`);
  });

  it("lists exactly the forbidden words of words.ts", () => {
    const line = section.split("\n- ").find((part) => part.startsWith("**Words never used.**")) ?? "";
    const list = line.slice(0, line.indexOf(". The local templates"));
    const listed = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(listed).toEqual([...FORBIDDEN_WORDS]);
  });
});
