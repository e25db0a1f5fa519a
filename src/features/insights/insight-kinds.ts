/** What an insight is: its kinds, its shape, and its id, derived from what it says. */
import { seedOf } from "../../lib/seeded-random";
import type { LocalDate } from "../../lib/time";
import type { Pattern, RollupInput } from "./patterns";

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
  /** Rollup rows of the range, every slice (the slices other than day totals may be summed over it). */
  rows: readonly RollupInput[];
  /**
   * Hour slices of single days, to cut a past day at this time of day (the same weekday last week);
   * when absent, the hour rows of `rows` (which then must be per day).
   */
  dayHours?: readonly RollupInput[] | undefined;
  /** The patterns the statistics reported for the same rows. */
  patterns: readonly Pattern[];
  /** The user's local today: the range's last day. */
  today: LocalDate;
  /** The user's local hour now (0–23): how much of today has passed. */
  hour: number;
  days: number;
  /** The daily streak as the dashboard shows it (gamification's own answer); no streak insight without it. */
  streak?: StreakFact | undefined;
}

/** What the streak insight needs of gamification's streak. */
export interface StreakFact {
  current_days: number;
  /** Nothing done yet today, and the streak still alive. */
  at_risk: boolean;
  last_active_day: LocalDate | null;
}

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

export function insight(
  kind: InsightKind,
  topic: string,
  title: string,
  body: string,
  evidence: Evidence,
  priority: number,
): LocalInsight {
  return { insight_id: insightIdOf(kind, topic, evidence), kind, title, body, evidence, priority };
}
