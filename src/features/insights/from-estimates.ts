/** Insights from timed tasks: how long things take against their estimates, by category and overall. */
import type { Facts } from "./insight-facts";
import { insight, type LocalInsight } from "./insight-kinds";
import { MIN_SAMPLES } from "./patterns";

/** Estimates count as spot on within ±10%, worth a word from 25% over or 20% under. */
const SPOT_ON = 0.1;
const OVER = 1.25;
const UNDER = 0.8;

const ratioText = (ratio: number) => `${(Math.round(ratio * 10) / 10).toFixed(1)}×`;

export function fromEstimates(facts: Facts): LocalInsight[] {
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
