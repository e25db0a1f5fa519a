/**
 * What to do now: open tasks with nothing left to wait on, ranked by how soon they are due, their
 * priority, how their predicted difficulty fits the energy the user usually has at this hour, and
 * whether their predicted duration still fits before the due time, and whether now is the block of the
 * day when tasks of their kind usually finish within their estimate. Each comes with its reasons.
 */
import { and, asc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { type EnergyLevel, POPULATION, tasks, users } from "../../db/schema";
import type { TaskPriority } from "../../db/schema/tasks";
import { D1Batch } from "../../lib/batch";
import { localParts, nowIso } from "../../lib/time";
import { answererOf } from "./answering";
import { type BestBlock, BestTimeParamsSchema, bestBlocks } from "./best-time";
import { DifficultyParamsSchema, PRIOR_DIFFICULTY, predictDifficulty } from "./difficulty";
import { DurationParamsSchema, predictDuration, priorDuration } from "./duration";
import { EnergyParamsSchema, energyAt, levelValue, priorEnergy } from "./energy";
import { openSample, taskEnergy, taskFeatureQuery } from "./history";
import { promotedQuery } from "./model-store";
import { energyNowQuery } from "./prediction-log";

/**
 * Open tasks looked at: the DATED most due first, and the UNDATED by priority (then oldest), so a
 * long list of dated tasks never hides an undated critical one.
 */
export const DATED_CANDIDATES = 150;
export const UNDATED_CANDIDATES = 50;
export const MAX_SUGGESTIONS = 20;

const PRIORITY_WEIGHT: Record<TaskPriority, number> = { low: 0.1, medium: 0.3, high: 0.6, critical: 0.9 };
const HOUR_MS = 3_600_000;

const ready = sql`NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.depends_on_id
  WHERE d.task_id = ${tasks.id} AND b.status != 'completed' AND b.deleted_at IS NULL)`;

function plural(n: number, word: string) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function inWords(hours: number): string {
  if (hours < 1) return plural(Math.max(1, Math.round(hours * 60)), "minute");
  if (hours < 48) return plural(Math.round(hours), "hour");
  return plural(Math.round(hours / 24), "day");
}

export interface Scored {
  score: number;
  reasons: string[];
}

/** The score of one task and why (pure: the route's ranking, unit-tested). */
export function scoreTask(input: {
  priority: TaskPriority;
  dueAt: number | null;
  now: number;
  minutes: number;
  difficulty: number;
  /** Energy now on the 1–3 scale. */
  energy: number;
  /** The block of the day when tasks of this kind most often finish within their estimate, if now is in it. */
  bestBlock?: BestBlock | null;
}): Scored {
  const reasons: string[] = [];
  let urgency = 0;
  if (input.dueAt !== null) {
    const hoursLeft = (input.dueAt - input.now) / HOUR_MS;
    if (hoursLeft < 0) {
      urgency = 1;
      reasons.push(`It was due ${inWords(-hoursLeft)} ago; doing it now clears it.`);
    } else if (hoursLeft * 60 <= input.minutes * 1.5) {
      urgency = 0.95;
      reasons.push(
        `It will likely take about ${plural(input.minutes, "minute")} and is due in ${inWords(hoursLeft)}: starting now leaves room.`,
      );
    } else {
      urgency = 0.8 / (1 + hoursLeft / 24);
      if (hoursLeft <= 24) reasons.push(`It is due in ${inWords(hoursLeft)}.`);
    }
  }
  const priority = PRIORITY_WEIGHT[input.priority];
  if (input.priority === "high" || input.priority === "critical")
    reasons.push(`You marked it ${input.priority} priority.`);
  // 1 when the task's difficulty sits where the energy does (hard with high, easy with low).
  const fit = 1 - Math.abs((input.energy - 1) / 2 - (input.difficulty - 1) / 4);
  if (input.energy >= 2.5 && input.difficulty >= 4)
    reasons.push("Your energy is usually high at this hour: a good time for a harder task.");
  else if (input.energy <= 1.5 && input.difficulty <= 2)
    reasons.push("Your energy tends to be low now, and this one looks gentle.");
  const best = input.bestBlock ?? null;
  if (best)
    reasons.push(
      `You usually finish ${best.category} tasks within your estimate between ${hh(best.start_hour)} and ${hh(best.end_hour)}.`,
    );
  if (input.minutes <= 15 && input.dueAt === null && reasons.length === 0)
    reasons.push(`A quick one: about ${plural(input.minutes, "minute")}.`);
  if (reasons.length === 0) reasons.push("It is ready to start: nothing it waits on is left.");
  const bonus = best ? 0.15 : 0;
  return { score: Math.round((urgency + priority + 0.5 * fit + bonus) * 1000) / 1000, reasons };
}

const hh = (hour: number) => `${String(hour % 24).padStart(2, "0")}:00`;

export async function suggestNow(db: Database, userId: string, limit: number, now = Date.now()) {
  const batch = new D1Batch();
  const user = batch.add(db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)));
  const openTasks = (dated: boolean) =>
    batch.add(
      taskFeatureQuery(
        db,
        and(
          eq(tasks.userId, userId),
          inArray(tasks.status, ["pending", "in_progress"]),
          isNull(tasks.deletedAt),
          eq(tasks.isMetaTask, false),
          dated ? isNotNull(tasks.dueAt) : isNull(tasks.dueAt),
          ready,
        ),
      )
        .orderBy(
          ...(dated
            ? [asc(tasks.dueAt), asc(tasks.id)]
            : [
                sql`CASE ${tasks.priority} WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END`,
                asc(tasks.id),
              ]),
        )
        .limit(dated ? DATED_CANDIDATES : UNDATED_CANDIDATES),
    );
  const dated = openTasks(true);
  const undated = openTasks(false);
  const models = batch.add(
    promotedQuery(db, [userId, POPULATION], ["duration", "difficulty", "energy", "best_time"]),
  );
  const checkin = batch.add(energyNowQuery(db, userId, now));
  const results = await batch.run(db);
  const zone = user(results)[0]?.timezone ?? "UTC";
  const rows = models(results);
  const duration = answererOf(rows, userId, "duration", "prior");
  const difficulty = answererOf(rows, userId, "difficulty", "prior");
  const energy = answererOf(rows, userId, "energy", "prior");
  const durationParams = DurationParamsSchema.safeParse(duration.row?.params);
  const difficultyParams = DifficultyParamsSchema.safeParse(difficulty.row?.params);
  const energyParams = EnergyParamsSchema.safeParse(energy.row?.params);
  const bestTime = BestTimeParamsSchema.safeParse(answererOf(rows, userId, "best_time", "prior").row?.params);
  const blocks = bestTime.success ? bestBlocks(bestTime.data) : [];
  const hour = localParts(zone, now).hour;
  const said: EnergyLevel | null = checkin(results)[0]?.level ?? null;
  const usual = energyAt(energyParams.success ? energyParams.data : priorEnergy(), hour);
  const energyNow = said ? levelValue(said) : usual.expected;

  const suggestions = [...dated(results), ...undated(results)]
    .map((row) => {
      // The models get only energy the user said (a check-in, the split); the usual level is for the fit.
      const sample = openSample(row, now, taskEnergy(row, undefined, said));
      const minutes = durationParams.success
        ? predictDuration(durationParams.data, sample).minutes
        : priorDuration(sample).minutes;
      const level = difficultyParams.success
        ? predictDifficulty(difficultyParams.data, sample)
        : PRIOR_DIFFICULTY;
      const dueAt = row.dueAt ? Date.parse(row.dueAt) : null;
      const scored = scoreTask({
        priority: row.priority,
        dueAt,
        now,
        minutes,
        difficulty: level,
        energy: energyNow,
        bestBlock: blocks.find(
          (b) => b.category === row.category && hour >= b.start_hour && hour < b.end_hour,
        ),
      });
      return {
        task_id: row.id,
        title: row.title,
        priority: row.priority,
        due_at: row.dueAt,
        predicted_minutes: minutes,
        predicted_difficulty: level,
        score: scored.score,
        reasons: scored.reasons,
      };
    })
    .sort((a, b) => b.score - a.score || a.task_id.localeCompare(b.task_id))
    .slice(0, limit);
  return {
    generated_at: nowIso(now),
    local_hour: hour,
    energy_now: { level: said ?? usual.level, source: said ? ("check_in" as const) : ("model" as const) },
    models: { duration: duration.info, difficulty: difficulty.info, energy: energy.info },
    suggestions,
  };
}
