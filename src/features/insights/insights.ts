/**
 * Insights: what a person's rollups say, in plain and kind words. Four kinds — a `pattern` (only the
 * patterns the statistics report), a `suggestion`, a `celebration` and a `warning` (gentle: what may
 * help, never what went wrong). Every number an insight states is in its `evidence`, and its id is
 * derived from its content, so the same facts always give the same id.
 *
 * With little data it says what would help it see more, and never invents a pattern.
 */
import { seedOf } from "../../lib/seeded-random";
import { addDays, daysBetween, type LocalDate } from "../../lib/time";
import type { Counters } from "../analytics/rollup-queries";
import { sumCounters } from "../analytics/rollup-queries";
import { MARGIN, MIN_SAMPLES, type Pattern, type RollupInput } from "./patterns";
import { HOUR_BLOCKS, hourBlockOf, labelOf, WEEKDAYS, weekdayOf, wherePhrase } from "./slices";

export const INSIGHT_KINDS = ["pattern", "suggestion", "celebration", "warning"] as const;
export type InsightKind = (typeof INSIGHT_KINDS)[number];

export type Evidence = Record<string, number | string>;

export interface LocalInsight {
  insight_id: string;
  kind: InsightKind;
  title: string;
  body: string;
  evidence: Evidence;
  /** 1–100: higher comes first. */
  priority: number;
}

export interface InsightInput {
  /** Rollup rows of the range, every slice. */
  rows: readonly RollupInput[];
  /** The patterns the statistics reported for the same rows. */
  patterns: readonly Pattern[];
  /** The user's local today: the range's last day. */
  today: LocalDate;
  days: number;
}

/** At most this many insights: a few worth reading beat a wall of them. */
export const MAX_INSIGHTS = 12;
const STEP_MILESTONES = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Estimates count as spot on within ±10%, worth a word from 25% over or 20% under. */
const SPOT_ON = 0.1;
const OVER = 1.25;
const UNDER = 0.8;

const hex = (n: number) => n.toString(16).padStart(8, "0");

/** A stable id from what the insight says and the facts it rests on. */
export function insightIdOf(kind: InsightKind, topic: string, evidence: Evidence): string {
  const facts = Object.keys(evidence)
    .sort()
    .map((k) => `${k}=${evidence[k]}`)
    .join("&");
  const text = `${kind}|${topic}|${facts}`;
  return `ins_${hex(seedOf(`a|${text}`))}${hex(seedOf(`b|${text}`))}`;
}

function insight(
  kind: InsightKind,
  topic: string,
  title: string,
  body: string,
  evidence: Evidence,
  priority: number,
): LocalInsight {
  return { insight_id: insightIdOf(kind, topic, evidence), kind, title, body, evidence, priority };
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "Tuesday 14 May": a local date as people say it. */
export function spokenDate(day: LocalDate): string {
  const [, month = 1, date = 1] = day.split("-").map(Number);
  const weekday = weekdayOf(day);
  return `${weekday.charAt(0).toUpperCase()}${weekday.slice(1)} ${date} ${MONTHS[month - 1]}`;
}

/** The Monday starting the week `day` is in. */
export const mondayOf = (day: LocalDate) => addDays(day, -WEEKDAYS.indexOf(weekdayOf(day)));

interface Facts {
  days: number;
  today: LocalDate;
  byDay: Map<LocalDate, Counters>;
  total: Counters;
  byHourBlock: Map<string, Counters>;
  byCategory: Map<string, Counters>;
}

function factsOf(input: InsightInput): Facts {
  const group = (dim: RollupInput["dim"], keyOf: (r: RollupInput) => string | undefined) => {
    const map = new Map<string, RollupInput[]>();
    for (const row of input.rows) {
      if (row.dim !== dim) continue;
      const key = keyOf(row);
      if (key === undefined) continue;
      const list = map.get(key) ?? [];
      list.push(row);
      map.set(key, list);
    }
    return new Map([...map].map(([k, rows]) => [k, sumCounters(rows)]));
  };
  const byDay = group("all", (r) => r.day);
  return {
    days: input.days,
    today: input.today,
    byDay,
    total: sumCounters([...byDay.values()]),
    byHourBlock: group("hour", (r) => hourBlockOf(r.key)),
    byCategory: group("category", (r) => (r.key === "" ? undefined : r.key)),
  };
}

function sumDays(facts: Facts, from: LocalDate, to: LocalDate): Counters {
  const rows: Counters[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) {
    const row = facts.byDay.get(day);
    if (row) rows.push(row);
  }
  return sumCounters(rows);
}

// ---- from the reported patterns ----

function patternEvidence(p: Pattern): Evidence {
  return {
    metric: p.metric,
    dimension: p.dimension,
    key: p.key,
    rate: p.rate,
    rate_elsewhere: p.rate_elsewhere,
    sample_size: p.sample_size,
    confidence: p.confidence,
  };
}

/** A confidence as a percentage, rounded down so it never claims more (never "100%"). */
export function confidencePercent(confidence: number): string {
  const tenths = Math.floor(confidence * 1000) / 10;
  return tenths >= 99 ? `${tenths.toFixed(1)}%` : `${Math.floor(tenths)}%`;
}

function confidenceLine(p: Pattern): string {
  return `Confidence: ${confidencePercent(p.confidence)} that the gap is more than ${Math.round(MARGIN * 100)} percentage points.`;
}

function patternTitle(p: Pattern): string {
  const where = p.dimension === "hour" ? p.label : wherePhrase(p.dimension, p.key);
  const up = p.direction === "higher";
  switch (p.metric) {
    case "focus_completion":
      return up ? `Focus comes easier ${where}` : `Focus sessions ${where} often end early`;
    case "on_time":
      if (up) return `Estimates hold up well ${where}`;
      return `${p.dimension === "category" ? `${p.key} tasks` : `Tasks ${where}`} often take longer than planned`;
    case "low_energy":
      return up ? `Energy often runs low ${where}` : `Energy tends to be steadier ${where}`;
    case "active_days":
      return up
        ? `${labelOf("weekday", p.key)}s are often active days`
        : `${labelOf("weekday", p.key)}s are often rest days`;
  }
}

function fromPatterns(patterns: readonly Pattern[]): LocalInsight[] {
  const out: LocalInsight[] = [];
  // One insight per metric and dimension (the most certain), the strongest first.
  const seen = new Set<string>();
  const chosen = patterns.filter((p) => {
    const id = `${p.metric}|${p.dimension}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  for (const p of chosen.slice(0, 4)) {
    const evidence = patternEvidence(p);
    const topic = `pattern:${p.metric}:${p.dimension}:${p.key}:${p.direction}`;
    const priority = 60 + Math.round(20 * p.confidence);
    if (p.metric === "low_energy" && p.direction === "higher") {
      // The energy dip: a warning, with what may help.
      out.push(
        insight(
          "warning",
          topic,
          patternTitle(p),
          `${p.sentence} A lighter task or a short break may fit better ${p.dimension === "hour" ? "then" : "on those days"}. ${confidenceLine(p)}`,
          evidence,
          priority,
        ),
      );
      continue;
    }
    out.push(
      insight("pattern", topic, patternTitle(p), `${p.sentence} ${confidenceLine(p)}`, evidence, priority),
    );
    const tip = suggestionFor(p);
    if (tip) out.push(insight("suggestion", `tip:${topic}`, tip.title, tip.body, evidence, priority - 15));
  }
  return out;
}

function suggestionFor(p: Pattern): { title: string; body: string } | undefined {
  const where = wherePhrase(p.dimension, p.key);
  if (p.metric === "focus_completion" && p.direction === "higher") {
    if (p.dimension === "hour")
      return {
        title: `Plan focus for ${p.label}`,
        body: `Your focus sessions go best ${where}. Putting the task that matters most there may help.`,
      };
    if (p.dimension === "energy")
      return {
        title: `Save deep work for ${p.label}`,
        body: `You finish more focus sessions ${where}. When your energy is there, that may be the moment for the bigger task.`,
      };
  }
  if (p.metric === "on_time" && p.direction === "lower") {
    return {
      title: "A little extra room may help",
      body: `${p.dimension === "category" ? `${p.key} tasks` : `Tasks ${where}`} often run past their estimate. Adding a buffer there can make the day feel calmer.`,
    };
  }
  return undefined;
}

// ---- this week, best days and hours, streaks ----

function weekInsights(facts: Facts): LocalInsight[] {
  const out: LocalInsight[] = [];
  const weekStart = mondayOf(facts.today);
  const elapsed = daysBetween(weekStart, facts.today) + 1;
  const now = sumDays(facts, weekStart, facts.today);
  const before = sumDays(facts, addDays(weekStart, -7), addDays(facts.today, -7));
  const sameDays = elapsed === 7 ? "last week" : "at this point last week";

  if (now.stepsCompleted >= 3 && now.stepsCompleted > before.stepsCompleted) {
    const more = now.stepsCompleted - before.stepsCompleted;
    out.push(
      insight(
        "celebration",
        "week:steps:up",
        `${plural(now.stepsCompleted, "step")} this week`,
        before.stepsCompleted > 0
          ? `You've done ${plural(now.stepsCompleted, "step")} this week, ${more} more than ${sameDays}. Nice momentum.`
          : `You've done ${plural(now.stepsCompleted, "step")} this week. Nice momentum.`,
        { steps_this_week: now.stepsCompleted, steps_last_week: before.stepsCompleted, days: elapsed },
        75,
      ),
    );
  } else if (before.stepsCompleted >= 10 && now.stepsCompleted * 2 < before.stepsCompleted) {
    out.push(
      insight(
        "suggestion",
        "week:steps:quiet",
        "A quieter week so far",
        `${plural(now.stepsCompleted, "step")} this week, against ${before.stepsCompleted} ${sameDays}. Rest counts too. When you're ready, one two-minute step is enough to get going again.`,
        { steps_this_week: now.stepsCompleted, steps_last_week: before.stepsCompleted, days: elapsed },
        45,
      ),
    );
  }

  const focusNow = Math.round(now.focusSeconds / 60);
  const focusBefore = Math.round(before.focusSeconds / 60);
  if (focusNow >= 30 && focusNow > focusBefore * 1.2) {
    out.push(
      insight(
        "celebration",
        "week:focus:up",
        `${focusNow} focus minutes this week`,
        `That's ${focusNow - focusBefore} more minutes of focus than ${sameDays}.`,
        { focus_minutes_this_week: focusNow, focus_minutes_last_week: focusBefore, days: elapsed },
        65,
      ),
    );
  }

  if (now.interruptions >= 5 && now.interruptions >= before.interruptions * 1.5) {
    out.push(
      insight(
        "warning",
        "week:interruptions:up",
        "More interruptions this week",
        `${plural(now.interruptions, "interruption")} during focus this week, against ${before.interruptions} ${sameDays}. Silencing notifications for the length of a session may help.`,
        {
          interruptions_this_week: now.interruptions,
          interruptions_last_week: before.interruptions,
          days: elapsed,
        },
        60,
      ),
    );
  }

  // A personal best week: this week (so far) above every earlier full week in the range.
  const firstDay = [...facts.byDay.keys()].sort()[0];
  if (firstDay !== undefined && now.stepsCompleted >= 5) {
    let best = 0;
    let weeks = 0;
    for (let start = addDays(weekStart, -7); start >= mondayOf(firstDay); start = addDays(start, -7)) {
      best = Math.max(best, sumDays(facts, start, addDays(start, 6)).stepsCompleted);
      weeks++;
    }
    if (weeks >= 3 && now.stepsCompleted > best) {
      out.push(
        insight(
          "celebration",
          "week:best",
          "Your best week yet",
          `${plural(now.stepsCompleted, "step")} this week: more than any of the ${weeks} weeks before it in the last ${facts.days} days.`,
          { steps_this_week: now.stepsCompleted, best_earlier_week: best, weeks_compared: weeks },
          85,
        ),
      );
    }
  }
  return out;
}

function dayInsights(facts: Facts): LocalInsight[] {
  const out: LocalInsight[] = [];
  let bestDay: LocalDate | undefined;
  let bestSteps = 0;
  for (const [day, c] of facts.byDay) {
    if (
      c.stepsCompleted > bestSteps ||
      (c.stepsCompleted === bestSteps && bestDay !== undefined && day > bestDay)
    ) {
      bestDay = day;
      bestSteps = c.stepsCompleted;
    }
  }
  if (bestDay !== undefined && bestSteps >= 5) {
    const recent = daysBetween(bestDay, facts.today) < 7;
    out.push(
      insight(
        "celebration",
        "day:best",
        recent ? "A big day this week" : "Your biggest day lately",
        `${spokenDate(bestDay)}: ${plural(bestSteps, "step")} done, the most of any day in the last ${facts.days} days.`,
        { day: bestDay, steps: bestSteps, days: facts.days },
        recent ? 70 : 40,
      ),
    );
  }

  // Where steps get done: a share of this person's own steps, stated as such (not a pattern claim).
  const totalSteps = [...facts.byHourBlock.values()].reduce((t, c) => t + c.stepsCompleted, 0);
  if (totalSteps >= MIN_SAMPLES) {
    const [block, counters] = [...facts.byHourBlock].sort(
      (a, b) =>
        b[1].stepsCompleted - a[1].stepsCompleted || HOUR_BLOCKS.indexOf(a[0]) - HOUR_BLOCKS.indexOf(b[0]),
    )[0] as [string, Counters];
    const share = counters.stepsCompleted / totalSteps;
    if (share >= 0.3) {
      out.push(
        insight(
          "suggestion",
          `hour:steps:${block}`,
          `Your busiest hours: ${labelOf("hour", block)}`,
          `${percent(share)} of your ${totalSteps} steps in the last ${facts.days} days were done ${wherePhrase("hour", block)}. Keeping that time for what matters most may help.`,
          {
            hours: block,
            steps: counters.stepsCompleted,
            steps_total: totalSteps,
            share: Math.round(share * 1000) / 1000,
          },
          50,
        ),
      );
    }
  }

  // A run of days with a step done, up to today (or yesterday, before today's first step).
  let streak = 0;
  let day = (facts.byDay.get(facts.today)?.stepsCompleted ?? 0) > 0 ? facts.today : addDays(facts.today, -1);
  while ((facts.byDay.get(day)?.stepsCompleted ?? 0) > 0 && streak < facts.days) {
    streak++;
    day = addDays(day, -1);
  }
  if (streak >= 3) {
    out.push(
      insight(
        "celebration",
        "streak",
        `${streak} days in a row`,
        `You've done at least one step every day for ${streak} days. Small steps add up.`,
        { streak_days: streak, through: addDays(day, streak) },
        80,
      ),
    );
  }

  const milestone = [...STEP_MILESTONES].reverse().find((m) => facts.total.stepsCompleted >= m);
  if (milestone !== undefined) {
    out.push(
      insight(
        "celebration",
        `milestone:${milestone}`,
        `${milestone}+ steps done`,
        `${plural(facts.total.stepsCompleted, "step")} done in the last ${facts.days} days. Every one of them counts.`,
        { steps: facts.total.stepsCompleted, milestone, days: facts.days },
        55,
      ),
    );
  }
  return out;
}

// ---- estimates ----

const ratioText = (ratio: number) => `${(Math.round(ratio * 10) / 10).toFixed(1)}×`;

function estimateInsights(facts: Facts): LocalInsight[] {
  const out: LocalInsight[] = [];
  const described = [...facts.byCategory]
    .filter(([, c]) => c.timedTasks >= MIN_SAMPLES && c.estimatedMinutes > 0)
    .map(([category, c]) => ({ category, c, ratio: c.actualMinutes / c.estimatedMinutes }))
    .sort(
      (a, b) =>
        Math.abs(Math.log(b.ratio)) - Math.abs(Math.log(a.ratio)) || (a.category < b.category ? -1 : 1),
    );
  for (const { category, c, ratio } of described.slice(0, 3)) {
    const evidence = {
      category,
      timed_tasks: c.timedTasks,
      estimated_minutes: c.estimatedMinutes,
      actual_minutes: c.actualMinutes,
      ratio: Math.round(ratio * 100) / 100,
    };
    if (ratio >= OVER) {
      out.push(
        insight(
          "suggestion",
          `estimates:${category}:over`,
          `${category} tasks take about ${ratioText(ratio)} your estimates`,
          `Across ${c.timedTasks} timed ${category} tasks, the time they took was about ${ratioText(ratio)} the estimate. Adding a buffer may help.`,
          evidence,
          55,
        ),
      );
    } else if (ratio <= UNDER) {
      out.push(
        insight(
          "suggestion",
          `estimates:${category}:under`,
          `${category} tasks go quicker than planned`,
          `Across ${c.timedTasks} timed ${category} tasks, the time they took was about ${ratioText(ratio)} the estimate. You may be able to plan them a little shorter.`,
          evidence,
          45,
        ),
      );
    } else if (Math.abs(ratio - 1) <= SPOT_ON) {
      out.push(
        insight(
          "celebration",
          `estimates:${category}:spot-on`,
          `Your ${category} estimates are spot on`,
          `Across ${c.timedTasks} timed ${category} tasks, the time they took was within ${Math.round(SPOT_ON * 100)}% of your estimates.`,
          evidence,
          50,
        ),
      );
    }
  }
  const all = facts.total;
  if (
    all.timedTasks >= MIN_SAMPLES &&
    all.estimatedMinutes > 0 &&
    all.actualMinutes / all.estimatedMinutes >= 1.5
  ) {
    const ratio = all.actualMinutes / all.estimatedMinutes;
    out.push(
      insight(
        "warning",
        "estimates:all:over",
        "Tasks are taking longer than planned",
        `Across ${all.timedTasks} timed tasks, the time they took was about ${ratioText(ratio)} the estimate. Planning with extra room can make days feel lighter.`,
        {
          timed_tasks: all.timedTasks,
          estimated_minutes: all.estimatedMinutes,
          actual_minutes: all.actualMinutes,
          ratio: Math.round(ratio * 100) / 100,
        },
        60,
      ),
    );
  }
  return out;
}

// ---- little data: what would help see more ----

function gentleStarts(facts: Facts): LocalInsight[] {
  const t = facts.total;
  const out: LocalInsight[] = [];
  const nothing = facts.byDay.size === 0;
  if (nothing) {
    out.push(
      insight(
        "suggestion",
        "start:first-step",
        "Your insights start here",
        "Finish a first step, start a focus session or log how your energy is. Insights appear as your days fill in.",
        { days: facts.days },
        30,
      ),
    );
  }
  const checkins = t.energyLow + t.energyMedium + t.energyHigh;
  if (checkins < MIN_SAMPLES) {
    out.push(
      insight(
        "suggestion",
        "start:energy",
        "Log your energy to see your patterns",
        `Say how your energy is (low, medium or high) a few times a day. After ${MIN_SAMPLES} check-ins you'll start to see when it peaks and dips. So far: ${checkins}.`,
        { energy_checkins: checkins, needed: MIN_SAMPLES },
        25,
      ),
    );
  }
  if (!nothing && t.focusSessions < MIN_SAMPLES) {
    out.push(
      insight(
        "suggestion",
        "start:focus",
        "A few focus sessions will show your best hours",
        `After ${MIN_SAMPLES} focus sessions, you'll see when focus comes easiest. So far: ${t.focusSessions}.`,
        { focus_sessions: t.focusSessions, needed: MIN_SAMPLES },
        22,
      ),
    );
  }
  if (!nothing && t.timedTasks < MIN_SAMPLES) {
    out.push(
      insight(
        "suggestion",
        "start:estimates",
        "Estimates help you plan",
        `Add a time estimate to a few tasks. After ${MIN_SAMPLES} timed tasks, you'll see how your plans compare with the time things take. So far: ${t.timedTasks}.`,
        { timed_tasks: t.timedTasks, needed: MIN_SAMPLES },
        20,
      ),
    );
  }
  return out;
}

/** Every insight the rollups support, most important first, at most MAX_INSIGHTS. */
export function buildInsights(input: InsightInput): LocalInsight[] {
  const facts = factsOf(input);
  const all = [
    ...fromPatterns(input.patterns),
    ...weekInsights(facts),
    ...dayInsights(facts),
    ...estimateInsights(facts),
    ...gentleStarts(facts),
  ];
  all.sort((a, b) => b.priority - a.priority || (a.insight_id < b.insight_id ? -1 : 1));
  return all.slice(0, MAX_INSIGHTS);
}
