/**
 * A seeded, realistic year of history for three archetypes, for the learning models' tests, the
 * README's quality table and bulk inserts in Workers tests. Times are UTC (the test users' zone).
 *
 * - optimist: estimates ~1.6× too low (Work ~1.9×, with twice the scatter); energy peaks mid-morning.
 * - steady: estimates well (±15%); energy fairly flat with a gentle early-afternoon high.
 * - night owl: energy and success late in the day (40% faster than usual from 18:00); chaotic estimates
 *   (±80%, a third missing).
 */
import type { EnergyLevel } from "../../src/db/schema/analytics";
import { TASK_CATEGORIES, TASK_PRIORITIES, type TaskCategory } from "../../src/db/schema/tasks";
import type { EnergySample } from "../../src/features/learning/energy";
import type { TaskSample } from "../../src/features/learning/features";
import { seededRandom } from "../../src/lib/seeded-random";

export const ARCHETYPES = ["optimist", "steady", "night_owl"] as const;
export type Archetype = (typeof ARCHETYPES)[number];

export interface SyntheticTask extends TaskSample {
  title: string;
  startedAt: number;
  completedAt: number;
}

export interface SyntheticCheckin extends EnergySample {
  at: number;
}

export interface SyntheticHistory {
  tasks: SyntheticTask[];
  checkins: SyntheticCheckin[];
}

const DAY_MS = 86_400_000;
const BASE_MINUTES: Record<TaskCategory, number> = {
  Academic: 50,
  Work: 45,
  Personal: 20,
  Health: 30,
  Creative: 60,
};
const TITLES: Record<TaskCategory, string[]> = {
  Academic: ["Study chapter 4", "Finish math homework", "Read the assigned paper", "Write the lab report"],
  Work: [
    "Write the quarterly report",
    "Fix the login bug",
    "Prepare slides for the team meeting",
    "Review the pull request",
  ],
  Personal: ["Pay the electricity bill", "Call the dentist", "Do the laundry", "Buy groceries for the week"],
  Health: ["Go for a run", "Yoga session", "Meal prep for the week", "Book a check-up"],
  Creative: ["Practice guitar", "Sketch the poster", "Edit the vlog", "Write a short story"],
};

/** Energy level probabilities (low, medium, high) at a local hour, per archetype: the planted pattern. */
export function plantedEnergy(archetype: Archetype, hour: number): [number, number, number] {
  if (archetype === "optimist") {
    if (hour >= 9 && hour <= 11) return [0.1, 0.25, 0.65];
    if (hour >= 14 && hour <= 16) return [0.5, 0.35, 0.15];
    return [0.25, 0.5, 0.25];
  }
  if (archetype === "night_owl") {
    if (hour >= 21 || hour <= 0) return [0.05, 0.2, 0.75];
    if (hour >= 6 && hour <= 11) return [0.65, 0.3, 0.05];
    return [0.3, 0.45, 0.25];
  }
  if (hour >= 13 && hour <= 15) return [0.15, 0.45, 0.4];
  return [0.2, 0.55, 0.25];
}

/** The hours each archetype works in, most likely first. */
function workHour(archetype: Archetype, rand: () => number): number {
  const r = rand();
  if (archetype === "night_owl") return r < 0.55 ? 19 + Math.floor(rand() * 5) : 8 + Math.floor(rand() * 11);
  if (archetype === "optimist") return 8 + Math.floor(rand() * 11);
  return 9 + Math.floor(rand() * 9);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function level(rand: () => number, p: [number, number, number]): EnergyLevel {
  const r = rand();
  return r < p[0] ? "low" : r < p[0] + p[1] ? "medium" : "high";
}

/**
 * A year (`days`) of finished tasks and energy check-ins ending at `now` (UTC), seeded by `seed`.
 * About 4 tasks and 2 check-ins a day.
 */
export function generateHistory(
  archetype: Archetype,
  options: { seed?: string; days?: number; now?: number; tasksPerDay?: number } = {},
): SyntheticHistory {
  const rand = seededRandom(`${options.seed ?? "learning"}:${archetype}`);
  const days = options.days ?? 365;
  const now = options.now ?? Date.UTC(2030, 0, 1);
  const perDay = options.tasksPerDay ?? 4;
  const dayZero = Math.floor(now / DAY_MS) * DAY_MS - days * DAY_MS;
  const tasks: SyntheticTask[] = [];
  const checkins: SyntheticCheckin[] = [];
  for (let d = 0; d < days; d++) {
    const dayStart = dayZero + d * DAY_MS;
    const count = Math.max(0, Math.round(perDay + normal(rand) * 1.2));
    for (let k = 0; k < count; k++) {
      const category = pick(rand, TASK_CATEGORIES);
      const priority = pick(rand, TASK_PRIORITIES);
      const steps = 1 + Math.floor(rand() * 6);
      const hour = workHour(archetype, rand);
      const startedAt = dayStart + hour * 3_600_000 + Math.floor(rand() * 50) * 60_000;
      const energy = level(rand, plantedEnergy(archetype, hour));
      // The truth: a category's base size, more steps take longer, low energy drags.
      let truth = BASE_MINUTES[category] * (0.6 + steps * 0.15) * Math.exp(0.35 * normal(rand));
      if (energy === "low") truth *= 1.2;
      // Estimates know the usual size of a task; the night owl's evenings go faster than usual.
      const pace = archetype === "night_owl" && hour >= 18 ? 0.6 : 1;
      let estimate: number | null;
      let actual: number;
      if (archetype === "optimist") {
        estimate = truth;
        const factor = category === "Work" ? 1.9 : 1.6;
        const scatter = category === "Work" ? 0.4 : 0.2;
        actual = truth * factor * Math.exp(scatter * normal(rand));
      } else if (archetype === "steady") {
        estimate = truth;
        actual = truth * Math.exp(0.15 * normal(rand));
      } else {
        estimate = rand() < 0.33 ? null : truth * Math.exp(0.8 * normal(rand));
        actual = truth * pace;
      }
      const minutes = Math.max(2, Math.round(actual));
      // How hard it felt, said when splitting (about half the tasks were split with a difficulty).
      const felt =
        1.2 +
        0.9 * Math.log(truth / 15) +
        (category === "Academic" || category === "Creative" ? 0.6 : 0) +
        TASK_PRIORITIES.indexOf(priority) * 0.25 +
        (energy === "low" ? 0.4 : 0) +
        0.5 * normal(rand);
      const difficulty = rand() < 0.5 ? Math.min(5, Math.max(1, Math.round(felt))) : null;
      const title = pick(rand, TITLES[category]);
      tasks.push({
        id: `${archetype}-${d}-${k}`,
        title,
        category,
        estimate: estimate === null ? null : Math.max(1, Math.round(estimate / 5) * 5),
        priority,
        steps,
        hour,
        weekday: ((new Date(startedAt).getUTCDay() + 6) % 7) + 1,
        energy,
        titleLength: title.length,
        actual: minutes,
        difficulty,
        startedAt,
        completedAt: startedAt + minutes * 60_000,
      });
    }
    for (let k = 0; k < 2; k++) {
      const hour = archetype === "night_owl" ? Math.floor(rand() * 24) : 7 + Math.floor(rand() * 16);
      const at = dayStart + hour * 3_600_000 + Math.floor(rand() * 60) * 60_000;
      checkins.push({
        id: `${archetype}-c-${d}-${k}`,
        at,
        hour,
        level: level(rand, plantedEnergy(archetype, hour)),
      });
    }
  }
  return { tasks, checkins };
}
