import type { Database } from "../../db";
import type { Env } from "../../env";
import { sharedReadinessChecks } from "../health/readiness";
import { flushMetrics } from "../metrics/recorder";
import { cellsSince } from "../metrics/store";
import { seriesByRoute, summarize } from "../metrics/summary";
import { latencyChart } from "./chart";
import { statusPage } from "./page";

/** The page is built at most this often per isolate: anyone may load it, and each build asks every part. */
export const STATUS_TTL_MS = 15_000;
/** Routes drawn in the chart: the busiest of the hour (more lines than this cannot be told apart). */
const CHARTED = 5;

let cached: { html: string; builtAt: number } | undefined;

/** The status page as of at most `STATUS_TTL_MS` ago. */
export async function statusHtml(env: Env, db: Database, now = Date.now()): Promise<string> {
  if (cached && now - cached.builtAt < STATUS_TTL_MS && now >= cached.builtAt) return cached.html;
  const html = await buildStatus(env, db, now);
  cached = { html, builtAt: now };
  return html;
}

async function buildStatus(env: Env, db: Database, now: number): Promise<string> {
  const toMinute = Math.floor(now / 60_000);
  const fromMinute = toMinute - 59;
  const [checks, cells] = await Promise.all([
    sharedReadinessChecks(env, db),
    flushMetrics(env).then(() => cellsSince(db, fromMinute)),
  ]);
  const summary = summarize(cells);
  const charted = summary.routes.slice(0, CHARTED).map((route) => `${route.method} ${route.route}`);
  const series = seriesByRoute(cells);
  const lines = charted.map((label) => ({
    label,
    points: (series.get(label) ?? []).map((point) => ({ minute: point.minute, value: point.p99_ms })),
  }));
  return statusPage({
    ok: Object.values(checks).every((check) => check.ok),
    checks,
    routes: summary.routes,
    charted,
    chart: latencyChart(lines, fromMinute, toMinute, "p99 latency per minute of the busiest routes"),
    requests: summary.requests,
    errorRate: summary.error_rate,
    generatedAt: new Date(now).toISOString(),
  });
}

/** Forgets the built page (tests: the next load builds afresh). */
export function forgetStatus(): void {
  cached = undefined;
}
