import type { Database } from "../../db";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
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

let cached: { html: Promise<string>; builtAt: number } | undefined;

/**
 * The status page as of at most `STATUS_TTL_MS` ago. Loads arriving while it is built share that build;
 * a build that failed is not kept.
 */
export function statusHtml(env: Env, db: Database, now = Date.now()): Promise<string> {
  if (cached && now - cached.builtAt < STATUS_TTL_MS && now >= cached.builtAt) return cached.html;
  const html = buildStatus(env, db, now);
  const entry = { html, builtAt: now };
  cached = entry;
  html.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return html;
}

/** The hour's cells, or none when the store cannot be read (the page still shows the dependencies). */
async function hourOfCells(env: Env, db: Database, fromMinute: number) {
  try {
    await flushMetrics(env);
    return { cells: await cellsSince(db, fromMinute), readable: true };
  } catch (error) {
    console.warn(
      JSON.stringify({ level: "warn", message: "status: metrics unreadable", error: loggableError(error) }),
    );
    return { cells: [], readable: false };
  }
}

async function buildStatus(env: Env, db: Database, now: number): Promise<string> {
  const toMinute = Math.floor(now / 60_000);
  const fromMinute = toMinute - 59;
  const [checks, { cells, readable }] = await Promise.all([
    sharedReadinessChecks(env, db),
    hourOfCells(env, db, fromMinute),
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
    metricsReadable: readable,
    generatedAt: new Date(now).toISOString(),
  });
}

/** Forgets the built page (tests: the next load builds afresh). */
export function forgetStatus(): void {
  cached = undefined;
}
