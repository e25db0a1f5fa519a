import { escapeHtml } from "../../lib/html";
import type { Check } from "../health/readiness";
import type { RouteSummary } from "../metrics/summary";
import { PALETTE } from "./chart";

export interface StatusView {
  ok: boolean;
  checks: Record<string, Check>;
  /** The last hour's routes, busiest first. */
  routes: RouteSummary[];
  /** Routes drawn in the chart, in the chart's colour order. */
  charted: string[];
  chart: string;
  requests: number;
  errorRate: number;
  /** False when the metrics could not be read (D1 down): the page says so instead of showing none. */
  metricsReadable: boolean;
  generatedAt: string;
}

/** No script, nothing from elsewhere: the page is its own HTML and inline SVG. */
export const STATUS_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const NAMES: Record<string, string> = {
  d1: "Database (D1)",
  focus_timer: "Focus timers",
  pet_state: "Pets",
  leaderboard: "Leaderboards",
  focus_room: "Focus rooms",
  events_queue: "Events queue",
  notifications_queue: "Notifications queue",
  webhooks_queue: "Webhooks queue",
  learning_queue: "Learning queue",
  exports_queue: "Exports queue",
  imports_queue: "Imports queue",
  erasure_queue: "Erasure queue",
  r2: "File storage (R2)",
  ai: "Workers AI",
};

const percent = (rate: number) => `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1)}%`;

function checkRow(name: string, check: Check): string {
  const state = check.ok ? "up" : "down";
  const note = check.error ?? check.detail ?? "";
  return (
    `<tr><td>${escapeHtml(NAMES[name] ?? name)}</td><td class="${state}">${check.ok ? "Operational" : "Down"}</td>` +
    `<td class="n">${check.latency_ms} ms</td><td class="note">${escapeHtml(note)}</td></tr>`
  );
}

function routeRow(route: RouteSummary, charted: string[]): string {
  const key = `${route.method} ${route.route}`;
  const index = charted.indexOf(key);
  const swatch =
    index >= 0 ? `<span class="swatch" style="background:${PALETTE[index % PALETTE.length]}"></span>` : "";
  return (
    `<tr><td>${swatch}<code>${escapeHtml(key)}</code></td><td class="n">${route.requests}</td>` +
    `<td class="n">${route.p50_ms}</td><td class="n">${route.p99_ms}</td><td class="n">${percent(route.error_rate)}</td></tr>`
  );
}

/** The public status page: each dependency's health and the last hour per route. No user data. */
export function statusPage(view: StatusView): string {
  const headline = view.ok ? "All systems operational" : "Some systems are down";
  const routes = view.routes.slice(0, 20);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Status · Proxy Agent Platform</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:780px;margin:0 auto;padding:24px 16px}
h1{font-size:1.4rem;margin:0 0 4px}h2{font-size:1.05rem;margin:28px 0 8px}
.banner{padding:14px 16px;border-radius:8px;font-weight:600;margin:16px 0}
.banner.up{background:#1a7f4b;color:#fff}.banner.down{background:#b42318;color:#fff}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden;font-size:.9rem}
td,th{padding:7px 10px;border-bottom:1px solid #eceef2;text-align:left}th{background:#fafbfc;font-weight:600}
.n{text-align:right;font-variant-numeric:tabular-nums}.up{color:#1a7f4b;font-weight:600}.down{color:#b42318;font-weight:600}
.note{color:#667085;font-size:.8rem}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.chart{background:#fff;border-radius:8px;padding:8px}footer{color:#667085;font-size:.8rem;margin-top:24px}
</style></head>
<body><main>
<h1>Proxy Agent Platform status</h1>
<div class="banner ${view.ok ? "up" : "down"}">${headline}</div>
<h2>Dependencies</h2>
<table><tr><th>Part</th><th>State</th><th class="n">Answered in</th><th></th></tr>
${Object.entries(view.checks)
  .map(([name, check]) => checkRow(name, check))
  .join("\n")}
</table>
<h2>Latency in the last hour (p99 per minute, ms)</h2>
<div class="chart">${view.chart}</div>
<h2>Routes in the last hour</h2>
<p class="note">${
    view.metricsReadable
      ? `${view.requests} requests, ${percent(view.errorRate)} answered with a server error.`
      : "The request figures cannot be read right now (the database does not answer)."
  }</p>
<table><tr><th>Route</th><th class="n">Requests</th><th class="n">p50 ms</th><th class="n">p99 ms</th><th class="n">5xx</th></tr>
${routes.map((route) => routeRow(route, view.charted)).join("\n")}
</table>
<footer>Generated ${escapeHtml(view.generatedAt)} · refreshed at most every 15 seconds · <a href="/health/ready">/health/ready</a> · <a href="/docs">API docs</a></footer>
</main></body></html>`;
}
