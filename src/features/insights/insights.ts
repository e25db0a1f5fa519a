/**
 * Insights: what a person's rollups say, in plain and kind words. Four kinds — a `pattern` (only the
 * patterns the statistics report), a `suggestion`, a `celebration` and a `warning` (gentle: what may
 * help, never what went wrong). Every number an insight states is in its `evidence`, and its id is
 * derived from its content, so the same facts always give the same id.
 *
 * With little data it says what would help it see more, and never invents a pattern.
 */
import { fromEstimates } from "./from-estimates";
import { dayInsights, weekInsights } from "./from-history";
import { fromPatterns } from "./from-patterns";
import { gentleStarts } from "./gentle-starts";
import { factsOf } from "./insight-facts";
import type { InsightInput, LocalInsight } from "./insight-kinds";

export { confidencePercent } from "./from-patterns";
export { mondayOf, spokenDate } from "./insight-facts";
export {
  type Evidence,
  INSIGHT_KINDS,
  type InsightInput,
  type InsightKind,
  insightIdOf,
  type LocalInsight,
  type StreakFact,
} from "./insight-kinds";

/** At most this many insights: a few worth reading beat a wall of them. */
export const MAX_INSIGHTS = 12;

/** Every insight the rollups support, most important first, at most MAX_INSIGHTS. */
export function buildInsights(input: InsightInput): LocalInsight[] {
  const facts = factsOf(input);
  const all = [
    ...fromPatterns(input.patterns),
    ...weekInsights(facts),
    ...dayInsights(facts),
    ...fromEstimates(facts, input.patterns),
    ...gentleStarts(facts),
  ];
  all.sort((a, b) => b.priority - a.priority || (a.insight_id < b.insight_id ? -1 : 1));
  return all.slice(0, MAX_INSIGHTS);
}
