/**
 * Insights from the days themselves: this week against last week at the same point, a personal best
 * week, the biggest day, the busiest hours, the streak and step milestones. Facts, not pattern claims.
 */
import { addDays, daysBetween, type LocalDate } from "../../lib/time";
import { type Counters, sumCounters } from "../analytics/rollup-queries";
import { type Facts, mondayOf, percent, plural, spokenDate, sumDays, sumHoursBefore } from "./insight-facts";
import { insight, type LocalInsight } from "./insight-kinds";
import { MIN_SAMPLES } from "./patterns";
import { HOUR_BLOCKS, labelOf, wherePhrase } from "./slices";

const STEP_MILESTONES = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** "Quieter" only once this many whole days of the week have passed: a Monday morning is no week yet. */
export const QUIET_AFTER_DAYS = 2;

/**
 * This week so far against last week at the same point: last week's Monday up to the same weekday,
 * that day cut at the hour it is now (its hour slices before this hour), so that a Monday morning is
 * compared with last Monday's morning, not with all of last Monday.
 */
function lastWeekSoFar(facts: Facts, weekStart: LocalDate): Counters {
  const sameDay = addDays(facts.today, -7);
  const wholeDays = sumDays(facts, addDays(weekStart, -7), addDays(sameDay, -1));
  return sumCounters([wholeDays, sumHoursBefore(facts, sameDay, facts.hour)]);
}

export function weekInsights(facts: Facts): LocalInsight[] {
  const out: LocalInsight[] = [];
  const weekStart = mondayOf(facts.today);
  const elapsed = daysBetween(weekStart, facts.today) + 1;
  const now = sumDays(facts, weekStart, facts.today);
  const before = lastWeekSoFar(facts, weekStart);
  const sameDays = "at this point last week";

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
  } else if (
    elapsed - 1 >= QUIET_AFTER_DAYS &&
    before.stepsCompleted >= 10 &&
    now.stepsCompleted * 2 < before.stepsCompleted
  ) {
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

  // A personal best week: this week (so far) above every earlier whole week of the range. A week that
  // began before the range, or before the first day with any activity in it, is only part of a week.
  const firstDay = [...facts.byDay.keys()].sort()[0];
  if (firstDay !== undefined && now.stepsCompleted >= 5) {
    let best = 0;
    let weeks = 0;
    for (let start = addDays(weekStart, -7); start >= firstDay; start = addDays(start, -7)) {
      best = Math.max(best, sumDays(facts, start, addDays(start, 6)).stepsCompleted);
      weeks++;
    }
    if (weeks >= 3 && now.stepsCompleted > best) {
      out.push(
        insight(
          "celebration",
          "week:best",
          "Your best week yet",
          `${plural(now.stepsCompleted, "step")} this week: more than any of the ${weeks} whole weeks before it in the last ${facts.days} days.`,
          { steps_this_week: now.stepsCompleted, best_earlier_week: best, weeks_compared: weeks },
          85,
        ),
      );
    }
  }
  return out;
}

export function dayInsights(facts: Facts): LocalInsight[] {
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
    const recent = bestDay >= mondayOf(facts.today);
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

  // The streak is gamification's (freezes included), so it says what the dashboard says.
  const streak = facts.streak;
  if (streak && streak.current_days >= 3) {
    const days = streak.current_days;
    out.push(
      insight(
        "celebration",
        "streak",
        `A ${days}-day streak`,
        streak.at_risk
          ? `Your daily streak is at ${plural(days, "day")}. One small step today keeps it going.`
          : `Your daily streak is at ${plural(days, "day")}. Small steps add up.`,
        { streak_days: days, last_active_day: streak.last_active_day ?? "" },
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
