import type { Cell } from "./buffer";
import { type Histogram, merge, quantile } from "./histogram";

/** The windows the metrics can be read over (the store keeps 7 days). */
export const WINDOWS = { "5m": 5, "15m": 15, "1h": 60, "6h": 360, "24h": 1440 } as const;
export type WindowName = keyof typeof WINDOWS;

export interface Latency {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
}

export interface RouteSummary extends Latency {
  route: string;
  method: string;
  requests: number;
  /** Answers 5xx: the server's failures. */
  errors: number;
  error_rate: number;
  /** Answers 4xx: refused requests, the client's to fix. */
  client_errors: number;
  d1_statements_per_request: number;
  rows_read_per_request: number;
  rows_written_per_request: number;
}

interface Tally {
  requests: number;
  errors: number;
  clientErrors: number;
  totalMs: number;
  maxMs: number;
  histogram: Histogram;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

const emptyTally = (): Tally => ({
  requests: 0,
  errors: 0,
  clientErrors: 0,
  totalMs: 0,
  maxMs: 0,
  histogram: new Map(),
  statements: 0,
  rowsRead: 0,
  rowsWritten: 0,
});

function absorb(tally: Tally, cell: Cell): void {
  tally.requests += cell.count;
  if (cell.statusClass === "5xx") tally.errors += cell.count;
  if (cell.statusClass === "4xx") tally.clientErrors += cell.count;
  tally.totalMs += cell.totalMs;
  tally.maxMs = Math.max(tally.maxMs, cell.maxMs);
  merge(tally.histogram, cell.histogram);
  tally.statements += cell.statements;
  tally.rowsRead += cell.rowsRead;
  tally.rowsWritten += cell.rowsWritten;
}

const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;
const per = (total: number, count: number, places = 1) => (count === 0 ? 0 : round(total / count, places));

function latencyOf(tally: Tally): Latency {
  return {
    p50_ms: round(quantile(tally.histogram, 0.5, tally.maxMs)),
    p95_ms: round(quantile(tally.histogram, 0.95, tally.maxMs)),
    p99_ms: round(quantile(tally.histogram, 0.99, tally.maxMs)),
    mean_ms: per(tally.totalMs, tally.requests),
    max_ms: round(tally.maxMs),
  };
}

export interface MetricsSummary extends Latency {
  requests: number;
  errors: number;
  error_rate: number;
  client_errors: number;
  /** Busiest first. */
  routes: RouteSummary[];
  /** The routes with the highest p99, slowest first (at most 5). */
  slowest: RouteSummary[];
}

/** Adds the cells up per route and method (every status class together) and overall. */
export function summarize(cells: Cell[]): MetricsSummary {
  const overall = emptyTally();
  const byRoute = new Map<string, { route: string; method: string; tally: Tally }>();
  for (const cell of cells) {
    absorb(overall, cell);
    const key = `${cell.method} ${cell.route}`;
    let entry = byRoute.get(key);
    if (!entry) {
      entry = { route: cell.route, method: cell.method, tally: emptyTally() };
      byRoute.set(key, entry);
    }
    absorb(entry.tally, cell);
  }
  const routes = [...byRoute.values()]
    .map(({ route, method, tally }) => ({
      route,
      method,
      requests: tally.requests,
      errors: tally.errors,
      error_rate: per(tally.errors, tally.requests, 4),
      client_errors: tally.clientErrors,
      ...latencyOf(tally),
      d1_statements_per_request: per(tally.statements, tally.requests, 2),
      rows_read_per_request: per(tally.rowsRead, tally.requests, 2),
      rows_written_per_request: per(tally.rowsWritten, tally.requests, 2),
    }))
    .sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route));
  const slowest = [...routes].sort((a, b) => b.p99_ms - a.p99_ms || b.requests - a.requests).slice(0, 5);
  return {
    requests: overall.requests,
    errors: overall.errors,
    error_rate: per(overall.errors, overall.requests, 4),
    client_errors: overall.clientErrors,
    ...latencyOf(overall),
    routes,
    slowest,
  };
}

export interface SeriesPoint {
  minute: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
}

/** Per route and method, minute by minute (for the status page's chart), minutes in order. */
export function seriesByRoute(cells: Cell[]): Map<string, SeriesPoint[]> {
  const tallies = new Map<string, Map<number, Tally>>();
  for (const cell of cells) {
    const key = `${cell.method} ${cell.route}`;
    let minutes = tallies.get(key);
    if (!minutes) {
      minutes = new Map();
      tallies.set(key, minutes);
    }
    let tally = minutes.get(cell.minute);
    if (!tally) {
      tally = emptyTally();
      minutes.set(cell.minute, tally);
    }
    absorb(tally, cell);
  }
  const series = new Map<string, SeriesPoint[]>();
  for (const [key, minutes] of tallies) {
    const points = [...minutes]
      .sort((a, b) => a[0] - b[0])
      .map(([minute, tally]) => ({
        minute,
        requests: tally.requests,
        p50_ms: round(quantile(tally.histogram, 0.5, tally.maxMs)),
        p99_ms: round(quantile(tally.histogram, 0.99, tally.maxMs)),
      }));
    series.set(key, points);
  }
  return series;
}
