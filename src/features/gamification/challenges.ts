/**
 * Daily challenges: three a day, drawn from a pool by a generator seeded with the date, so a date has the
 * same three wherever they are asked for while consecutive days differ. This function is the only source
 * of a date's challenges (nothing stores them: the list a user sees and what the event handler pays are
 * the same by construction). A user's progress counts completions in their own local day. Pure.
 */
import { seededRandom } from "../../lib/seeded-random";
import type { LocalDate } from "../../lib/time";

/** What a challenge counts, matched against the events the gamification handler receives. */
export const CHALLENGE_METRICS = [
  "steps",
  "morning_steps",
  "tasks",
  "priority_tasks",
  "focus_sessions",
  "long_focus",
] as const;
export type ChallengeMetric = (typeof CHALLENGE_METRICS)[number];

export interface ChallengeTemplate {
  key: string;
  metric: ChallengeMetric;
  /** Possible targets; the day's generator picks one. */
  targets: readonly number[];
  title: (target: number) => string;
  xpPerUnit: number;
  baseXp: number;
}

/** A focus session counts for "long_focus" when it lasts at least this long. */
export const CHALLENGE_LONG_FOCUS_MINUTES = 25;
export const CHALLENGES_PER_DAY = 3;

export const CHALLENGE_POOL: readonly ChallengeTemplate[] = [
  {
    key: "steps",
    metric: "steps",
    targets: [3, 5, 8],
    title: (n) => `Complete ${n} micro-steps`,
    xpPerUnit: 4,
    baseXp: 10,
  },
  {
    key: "morning",
    metric: "morning_steps",
    targets: [1, 2],
    title: (n) => `Complete ${n === 1 ? "a step" : `${n} steps`} before 10:00`,
    xpPerUnit: 10,
    baseXp: 10,
  },
  {
    key: "tasks",
    metric: "tasks",
    targets: [1, 2, 3],
    title: (n) => `Finish ${n === 1 ? "a task" : `${n} tasks`}`,
    xpPerUnit: 12,
    baseXp: 10,
  },
  {
    key: "priority",
    metric: "priority_tasks",
    targets: [1],
    title: () => "Finish a high-priority task",
    xpPerUnit: 30,
    baseXp: 10,
  },
  {
    key: "focus",
    metric: "focus_sessions",
    targets: [1, 2, 3],
    title: (n) => `Complete ${n === 1 ? "a focus session" : `${n} focus sessions`}`,
    xpPerUnit: 12,
    baseXp: 10,
  },
  {
    key: "deep",
    metric: "long_focus",
    targets: [1],
    title: () => `One focus session of ${CHALLENGE_LONG_FOCUS_MINUTES} minutes or more`,
    xpPerUnit: 25,
    baseXp: 10,
  },
];

export interface DailyChallenge {
  challenge_id: string;
  date: LocalDate;
  metric: ChallengeMetric;
  target: number;
  title: string;
  xp: number;
}

/** The date's challenges: CHALLENGES_PER_DAY different templates, each with a target. */
export function challengesFor(date: LocalDate): DailyChallenge[] {
  const next = seededRandom(`challenges:${date}`);
  const pool = [...CHALLENGE_POOL];
  const picked: DailyChallenge[] = [];
  while (picked.length < CHALLENGES_PER_DAY && pool.length > 0) {
    const [template] = pool.splice(Math.floor(next() * pool.length), 1);
    if (!template) break;
    const target = template.targets[Math.floor(next() * template.targets.length)] ?? template.targets[0] ?? 1;
    picked.push({
      challenge_id: `${date}:${template.key}`,
      date,
      metric: template.metric,
      target,
      title: template.title(target),
      xp: template.baseXp + template.xpPerUnit * target,
    });
  }
  return picked;
}
