/** With little data: what would help see more — said gently, and claiming nothing. */
import type { Facts } from "./insight-facts";
import { insight, type LocalInsight } from "./insight-kinds";
import { MIN_SAMPLES } from "./patterns";

export function gentleStarts(facts: Facts): LocalInsight[] {
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
