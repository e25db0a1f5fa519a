import type { QueryCosts } from "../../lib/query-costs";
import { addTo, bucketOf, type Histogram, merge } from "./histogram";

/** One answered request, as the metrics see it: the route's template, never the raw path. */
export interface RequestSample {
  route: string;
  method: string;
  status: number;
  ms: number;
  costs: QueryCosts;
}

/** What one isolate saw of one route, method and status class in one minute. */
export interface Cell {
  minute: number;
  route: string;
  method: string;
  statusClass: string;
  count: number;
  totalMs: number;
  maxMs: number;
  histogram: Histogram;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

export const statusClass = (status: number) => `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx`;

/**
 * Requests added up in memory between flushes, so the store gets a row per minute and route from each
 * isolate rather than a write per request. What an isolate holds when it is evicted is lost: at most
 * one flush interval of its requests.
 */
export class MetricsBuffer {
  private cells = new Map<string, Cell>();
  private flushedAt: number;

  constructor(now: number) {
    this.flushedAt = now;
  }

  add(sample: RequestSample, now: number): void {
    const minute = Math.floor(now / 60_000);
    const klass = statusClass(sample.status);
    const key = `${minute} ${sample.method} ${klass} ${sample.route}`;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = {
        minute,
        route: sample.route,
        method: sample.method,
        statusClass: klass,
        count: 0,
        totalMs: 0,
        maxMs: 0,
        histogram: new Map(),
        statements: 0,
        rowsRead: 0,
        rowsWritten: 0,
      };
      this.cells.set(key, cell);
    }
    cell.count += 1;
    cell.totalMs += sample.ms;
    cell.maxMs = Math.max(cell.maxMs, sample.ms);
    addTo(cell.histogram, bucketOf(sample.ms));
    cell.statements += sample.costs.statements;
    cell.rowsRead += sample.costs.rowsRead;
    cell.rowsWritten += sample.costs.rowsWritten;
  }

  /**
   * Whether a flush is due: `everyMs` since the last, or more cells than one flush should carry — but
   * never within a second of the last, so a store that is down is not sent a batch per request.
   */
  due(now: number, everyMs: number, maxCells: number): boolean {
    const since = now - this.flushedAt;
    return this.cells.size > 0 && (since >= everyMs || (this.cells.size >= maxCells && since >= 1000));
  }

  /** Takes every cell out (the caller stores them, or gives them back with `restore`). */
  drain(now: number): Cell[] {
    const cells = [...this.cells.values()];
    this.cells.clear();
    this.flushedAt = now;
    return cells;
  }

  /**
   * Puts back cells a failed flush could not store, added to whatever came in meanwhile; while the store
   * stays down, the oldest minutes go first once `keep` cells are held (memory stays bounded).
   */
  restore(cells: Cell[], keep: number): void {
    for (const cell of cells) {
      const key = `${cell.minute} ${cell.method} ${cell.statusClass} ${cell.route}`;
      const current = this.cells.get(key);
      if (current) combine(current, cell);
      else this.cells.set(key, cell);
    }
    if (this.cells.size <= keep) return;
    const newestFirst = [...this.cells].sort((a, b) => b[1].minute - a[1].minute);
    this.cells = new Map(newestFirst.slice(0, keep));
  }
}

function combine(into: Cell, from: Cell): void {
  into.count += from.count;
  into.totalMs += from.totalMs;
  into.maxMs = Math.max(into.maxMs, from.maxMs);
  merge(into.histogram, from.histogram);
  into.statements += from.statements;
  into.rowsRead += from.rowsRead;
  into.rowsWritten += from.rowsWritten;
}
