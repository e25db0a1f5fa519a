/**
 * Insights from timed tasks: how long things took against their estimates, by category and overall.
 *
 * Rollups keep sums, and a sum can be carried by one task: fifteen tasks on time and one that took ten
 * times its estimate add up to "1.5×". So a ratio is told only with at least MIN_SAMPLES timed tasks and
 * when the tasks themselves agree: most of them ran over (or came in within) their estimate, or a
 * reported `on_time` pattern says so. Without such a pattern the words are about what happened ("took"),
 * never a claim about what tasks do ("take").
 */
import type { Counters } from "../analytics/rollup-queries";
import type { Facts } from "./insight-facts";
import { insight, type LocalInsight } from "./insight-kinds";
import { MIN_SAMPLES, type Pattern } from "./patterns";

/** Estimates count as spot on within ±10%, worth a word from 25% over or 20% under. */
export const SPOT_ON = 0.1;
export const OVER = 1.25;
export const UNDER = 0.8;
/** The overall warning waits for more: the time taken about 1.5× the estimates. */
export const OVER_ALL = 1.5;
/** "Most of them": the share of timed tasks that must agree with the ratio. */
export const MAJORITY = 0.5;

const ratioText = (ratio: number) => `${(Math.round(ratio * 10) / 10).toFixed(1)}×`;
const round2 = (x: number) => Math.round(x * 100) / 100;

type Verdict = "over" | "under" | "spot-on";

/** What the tasks of a set say together, or undefined when the sum and the tasks disagree. */
function verdictOf(c: Counters, pattern: (direction: Pattern["direction"]) => boolean): Verdict | undefined {
  const ratio = c.actualMinutes / c.estimatedMinutes;
  const onTime = c.onTimeTasks / c.timedTasks;
  if (ratio >= OVER) return onTime <= MAJORITY || pattern("lower") ? "over" : undefined;
  if (ratio <= UNDER) return onTime >= MAJORITY || pattern("higher") ? "under" : undefined;
  if (Math.abs(ratio - 1) <= SPOT_ON) return onTime >= MAJORITY ? "spot-on" : undefined;
  return undefined;
}

function evidenceOf(c: Counters): Record<string, number> {
  return {
    timed_tasks: c.timedTasks,
    on_time_tasks: c.onTimeTasks,
    estimated_minutes: c.estimatedMinutes,
    actual_minutes: c.actualMinutes,
    ratio: round2(c.actualMinutes / c.estimatedMinutes),
  };
}

const timed = (c: Counters) => c.timedTasks >= MIN_SAMPLES && c.estimatedMinutes > 0;

export function fromEstimates(facts: Facts, patterns: readonly Pattern[]): LocalInsight[] {
  const out: LocalInsight[] = [];
  const reported = (category: string) => (direction: Pattern["direction"]) =>
    patterns.some(
      (p) =>
        p.metric === "on_time" &&
        p.dimension === "category" &&
        p.key === category &&
        p.direction === direction,
    );
  const described = [...facts.byCategory]
    .filter(([, c]) => timed(c))
    .flatMap(([category, c]) => {
      const verdict = verdictOf(c, reported(category));
      return verdict ? [{ category, c, verdict, ratio: c.actualMinutes / c.estimatedMinutes }] : [];
    })
    .sort(
      (a, b) =>
        Math.abs(Math.log(b.ratio)) - Math.abs(Math.log(a.ratio)) || (a.category < b.category ? -1 : 1),
    );
  for (const { category, c, verdict, ratio } of described.slice(0, 3)) {
    const evidence = { category, ...evidenceOf(c) };
    const across = `Across ${c.timedTasks} timed ${category} tasks, the time they took was about ${ratioText(ratio)} the estimate`;
    const over = c.timedTasks - c.onTimeTasks;
    if (verdict === "over") {
      const pattern = reported(category)("lower");
      out.push(
        insight(
          "suggestion",
          `estimates:${category}:over`,
          pattern
            ? `${category} tasks often take about ${ratioText(ratio)} your estimates`
            : `${category} tasks took about ${ratioText(ratio)} your estimates`,
          `${across}, and ${over} of them ran past it. Adding a buffer may help.`,
          evidence,
          55,
        ),
      );
    } else if (verdict === "under") {
      const pattern = reported(category)("higher");
      out.push(
        insight(
          "suggestion",
          `estimates:${category}:under`,
          pattern
            ? `${category} tasks often go quicker than planned`
            : `${category} tasks went quicker than planned`,
          `${across}, and ${c.onTimeTasks} of them came in within it. You may be able to plan them a little shorter.`,
          evidence,
          45,
        ),
      );
    } else {
      out.push(
        insight(
          "celebration",
          `estimates:${category}:spot-on`,
          `Your ${category} estimates were spot on`,
          `Across ${c.timedTasks} timed ${category} tasks, the time they took was within ${Math.round(SPOT_ON * 100)}% of your estimates, and ${c.onTimeTasks} of them came in within theirs.`,
          evidence,
          50,
        ),
      );
    }
  }
  const all = facts.total;
  if (timed(all)) {
    const ratio = all.actualMinutes / all.estimatedMinutes;
    if (ratio >= OVER_ALL && all.onTimeTasks / all.timedTasks <= MAJORITY) {
      out.push(
        insight(
          "warning",
          "estimates:all:over",
          "Tasks have been taking longer than planned",
          `Across ${all.timedTasks} timed tasks, the time they took was about ${ratioText(ratio)} the estimate, and ${all.timedTasks - all.onTimeTasks} of them ran past it. Planning with extra room can make days feel lighter.`,
          evidenceOf(all),
          60,
        ),
      );
    }
  }
  return out;
}
