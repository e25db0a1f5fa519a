/**
 * Insights from reported patterns only: a `pattern` with its sentence and confidence, a tip where one
 * helps, and the energy dip as a gentle `warning`. A pattern the statistics did not report is never told.
 */
import { type Evidence, insight, type LocalInsight } from "./insight-kinds";
import { MARGIN, type Pattern } from "./patterns";
import { labelOf, wherePhrase } from "./slices";

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

export function fromPatterns(patterns: readonly Pattern[]): LocalInsight[] {
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
