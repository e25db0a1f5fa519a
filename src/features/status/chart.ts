import { escapeHtml } from "../../lib/html";

/** One line of the chart: a route's p99 minute by minute. */
export interface ChartLine {
  label: string;
  points: { minute: number; value: number }[];
}

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };
/** Colour-blind-safe (Okabe–Ito), in the order lines are drawn. */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];

/** A round top for the y axis: 1, 2 or 5 times a power of ten, at or above `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

const fixed = (value: number) => Math.round(value * 10) / 10;

/**
 * An SVG line chart of latency per route over the minutes `fromMinute` … `toMinute` (whole minutes
 * since the epoch), drawn by the Worker: no script, no outside resource, so the page's policy can
 * forbid both. A minute without requests is a gap in its line, not a fall to zero.
 */
export function latencyChart(
  lines: ChartLine[],
  fromMinute: number,
  toMinute: number,
  title: string,
): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const span = Math.max(1, toMinute - fromMinute);
  const top = niceCeiling(Math.max(0, ...lines.flatMap((line) => line.points.map((p) => p.value))));
  const x = (minute: number) => fixed(PAD.left + ((minute - fromMinute) / span) * plotW);
  const y = (value: number) => fixed(PAD.top + plotH - (Math.min(value, top) / top) * plotH);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((share) => {
    const value = top * share;
    return (
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>` +
      `<text x="${PAD.left - 6}" y="${y(value) + 4}" text-anchor="end">${fixed(value)}</text>`
    );
  });
  const ticks = [0, 15, 30, 45, 60]
    .filter((ago) => ago <= span)
    .map((ago) => {
      const at = x(toMinute - ago);
      return `<text x="${at}" y="${HEIGHT - 8}" text-anchor="middle">${ago === 0 ? "now" : `−${ago} min`}</text>`;
    });
  const paths = lines.map((line, i) => {
    const colour = PALETTE[i % PALETTE.length];
    let d = "";
    let previous: number | undefined;
    for (const point of [...line.points].sort((a, b) => a.minute - b.minute)) {
      const joined = previous !== undefined && point.minute === previous + 1;
      d += `${joined ? "L" : "M"}${x(point.minute)},${y(point.value)}`;
      previous = point.minute;
    }
    const dots = line.points.map((p) => `<circle cx="${x(p.minute)}" cy="${y(p.value)}" r="2"/>`).join("");
    return (
      `<g stroke="${colour}" fill="${colour}"><title>${escapeHtml(line.label)}</title>` +
      `<path d="${d}" fill="none" stroke-width="2"/>${dots}</g>`
    );
  });
  const empty =
    lines.length === 0
      ? `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">No requests in this hour yet</text>`
      : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" ` +
    `aria-label="${escapeHtml(title)}" font-family="system-ui, sans-serif" font-size="11" fill="#555">` +
    `<title>${escapeHtml(title)}</title>${grid.join("")}${ticks.join("")}` +
    `<text x="${PAD.left - 6}" y="${HEIGHT - 8}" text-anchor="end">ms</text>` +
    `${paths.join("")}${empty}</svg>`
  );
}
