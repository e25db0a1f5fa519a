import { describe, expect, it } from "vitest";
import { ZERO_COUNTERS } from "../src/features/analytics/rollup-queries";
import {
  acceptRephrasing,
  aiWriter,
  chooseWriter,
  localWriter,
  numbersIn,
} from "../src/features/insights/insight-writer";
import {
  buildInsights,
  confidencePercent,
  INSIGHT_KINDS,
  insightIdOf,
  type LocalInsight,
  MAX_INSIGHTS,
  mondayOf,
  spokenDate,
} from "../src/features/insights/insights";
import {
  findPatterns,
  PATTERN_METRICS,
  type Pattern,
  type RollupInput,
  sentenceOf,
} from "../src/features/insights/patterns";
import { labelOf } from "../src/features/insights/slices";
import { forbiddenWordIn } from "../src/features/insights/words";
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

function insightsOf(rows: RollupInput[], days: number, today = TODAY): LocalInsight[] {
  const { patterns } = findPatterns(rows, today);
  return buildInsights({ rows, patterns, today, days });
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
function corpus(): { rows: RollupInput[]; days: number; today: string }[] {
  const random = seededRandom("insight-corpus");
  const inputs: { rows: RollupInput[]; days: number; today: string }[] = [];
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
    inputs.push({ rows, days, today });
  }
  inputs.push({ rows: [], days: 90, today: TODAY });
  inputs.push({ rows: [row(TODAY, "all", "", { stepsCompleted: 1 })], days: 14, today: TODAY });
  return inputs;
}

describe("insights: plain, kind words", () => {
  const results = corpus().map((input) => ({
    input,
    insights: insightsOf(input.rows, input.days, input.today),
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
    const again = insightsOf(first?.input.rows ?? [], first?.input.days ?? 90, first?.input.today);
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
    const titles = insightsOf(rows, 60).map((i) => i.title);
    expect(titles).toContain("60 days in a row");
    expect(titles).toContain("Your best week yet");
    expect(titles).toContain("250+ steps done");
    expect(titles).toContain("A big day this week");
  });

  it("notices estimates, gently: a buffer for what runs long, a word for what is spot on", () => {
    const rows: RollupInput[] = [];
    for (let d = 0; d < 20; d++) {
      const day = addDays(TODAY, -d);
      rows.push(row(day, "category", "Work", { timedTasks: 1, estimatedMinutes: 20, actualMinutes: 30 }));
      rows.push(row(day, "category", "Health", { timedTasks: 1, estimatedMinutes: 20, actualMinutes: 21 }));
      rows.push(row(day, "category", "Personal", { timedTasks: 1, estimatedMinutes: 20, actualMinutes: 10 }));
      rows.push(row(day, "all", "", { timedTasks: 3, estimatedMinutes: 60, actualMinutes: 61 }));
    }
    const byTitle = new Map(insightsOf(rows, 30).map((i) => [i.title, i]));
    const work = byTitle.get("Work tasks take about 1.5× your estimates");
    expect(work?.kind).toBe("suggestion");
    expect(work?.body).toBe(
      "Across 20 timed Work tasks, the time they took was about 1.5× the estimate. Adding a buffer may help.",
    );
    expect(work?.evidence).toMatchObject({
      timed_tasks: 20,
      estimated_minutes: 400,
      actual_minutes: 600,
      ratio: 1.5,
    });
    expect(byTitle.get("Your Health estimates are spot on")?.kind).toBe("celebration");
    expect(byTitle.get("Personal tasks go quicker than planned")?.body).toContain("0.5×");
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
      buildInsights({ rows: [], patterns: [p], today: TODAY, days: 90 })
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

  it("reads the numbers a text states", () => {
    expect(numbersIn("85% of 1.5× on 14 May, 85 again")).toEqual(["1.5", "14", "85", "85"]);
    expect(numbersIn("no numbers")).toEqual([]);
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

  it("chooses the local writer when AI is not allowed or not bound", async () => {
    const ai = { run: async () => ({}) } as unknown as Ai;
    expect(chooseWriter({ ai, useAi: false, timeoutMs: 100 }).name).toBe("local");
    expect(chooseWriter({ ai: undefined, useAi: true, timeoutMs: 100 }).name).toBe("local");
    expect(chooseWriter({ ai, useAi: true, timeoutMs: 100 }).name).toBe("ai");
    expect((await localWriter.write(local)).map((i) => i.phrased_by)).toEqual(["local", "local"]);
  });
});
