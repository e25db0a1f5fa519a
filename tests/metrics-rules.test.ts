import { describe, expect, it } from "vitest";
import { MetricsBuffer, statusClass } from "../src/features/metrics/buffer";
import {
  bucketOf,
  bucketTop,
  decode,
  encode,
  type Histogram,
  quantile,
} from "../src/features/metrics/histogram";
import { seriesByRoute, summarize } from "../src/features/metrics/summary";
import { latencyChart, niceCeiling } from "../src/features/status/chart";
import { statusPage } from "../src/features/status/page";
import { noCosts } from "../src/lib/query-costs";

const MINUTE = 60_000;
const sample = (route: string, status: number, ms: number) => ({
  route,
  method: "GET",
  status,
  ms,
  costs: { ...noCosts(), statements: 2, rowsRead: 10, rowsWritten: 1 },
});

describe("latency histograms", () => {
  it("put a latency in the bucket whose top is at or above it, at most 25% above", () => {
    for (const ms of [1, 1.3, 2, 7.5, 33, 250, 1_000, 42_000]) {
      const top = bucketTop(bucketOf(ms));
      expect(top).toBeGreaterThanOrEqual(ms);
      expect(top).toBeLessThanOrEqual(ms * 1.25 + 1e-9);
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.4)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(1e12)).toBe(60);
  });

  it("read percentiles within a bucket of the truth, never above the slowest", () => {
    const histogram: Histogram = new Map();
    const latencies = Array.from({ length: 1000 }, (_, i) => i / 10 + 1);
    for (const ms of latencies) histogram.set(bucketOf(ms), (histogram.get(bucketOf(ms)) ?? 0) + 1);
    const max = Math.max(...latencies);
    for (const q of [0.5, 0.95, 0.99]) {
      const truth = latencies[Math.ceil(q * latencies.length) - 1] ?? 0;
      const read = quantile(histogram, q, max);
      expect(read).toBeGreaterThanOrEqual(truth);
      expect(read).toBeLessThanOrEqual(truth * 1.25 + 1e-9);
    }
    expect(quantile(new Map([[10, 3]]), 0.99, 8)).toBe(8);
    expect(quantile(new Map(), 0.5, 0)).toBe(0);
  });

  it("store as pairs and read back what is sound of a damaged one", () => {
    const histogram: Histogram = new Map([
      [3, 2],
      [0, 5],
    ]);
    expect(encode(histogram)).toBe("[[0,5],[3,2]]");
    expect(decode(encode(histogram))).toEqual(histogram);
    expect(decode("not json").size).toBe(0);
    expect(decode("{}").size).toBe(0);
    expect(decode('[[1,2],["x",1],[2,-1],[4]]')).toEqual(new Map([[1, 2]]));
  });
});

describe("an isolate's buffer of counts", () => {
  it("adds requests up per minute, route, method and status class", () => {
    const buffer = new MetricsBuffer(0);
    const now = 10 * MINUTE;
    buffer.add(sample("/a", 200, 5), now);
    buffer.add(sample("/a", 204, 15), now + 1000);
    buffer.add(sample("/a", 404, 1), now);
    buffer.add(sample("/a", 200, 5), now + MINUTE);
    const cells = buffer.drain(now);
    expect(cells).toHaveLength(3);
    const first = cells.find((cell) => cell.minute === 10 && cell.statusClass === "2xx");
    expect(first).toMatchObject({
      count: 2,
      totalMs: 20,
      maxMs: 15,
      statements: 4,
      rowsRead: 20,
      rowsWritten: 2,
    });
    expect(buffer.drain(now)).toEqual([]);
    expect([99, 200, 302, 404, 503, 700].map(statusClass)).toEqual([
      "1xx",
      "2xx",
      "3xx",
      "4xx",
      "5xx",
      "5xx",
    ]);
  });

  it("is due after its interval, or when full but never within a second of the last flush", () => {
    const buffer = new MetricsBuffer(0);
    expect(buffer.due(100 * MINUTE, MINUTE, 2)).toBe(false);
    buffer.add(sample("/a", 200, 1), 0);
    expect(buffer.due(30_000, MINUTE, 5)).toBe(false);
    expect(buffer.due(MINUTE, MINUTE, 5)).toBe(true);
    buffer.add(sample("/b", 200, 1), 0);
    expect(buffer.due(500, MINUTE, 2)).toBe(false);
    expect(buffer.due(1000, MINUTE, 2)).toBe(true);
  });

  it("takes back a failed flush's counts, adding them to new ones, and keeps only the newest minutes", () => {
    const buffer = new MetricsBuffer(0);
    buffer.add(sample("/a", 200, 4), 5 * MINUTE);
    const failed = buffer.drain(5 * MINUTE);
    buffer.add(sample("/a", 200, 6), 5 * MINUTE);
    buffer.add(sample("/old", 200, 1), 1 * MINUTE);
    buffer.restore(failed, 10);
    const merged = buffer.drain(6 * MINUTE).find((cell) => cell.route === "/a");
    expect(merged).toMatchObject({ count: 2, totalMs: 10, maxMs: 6 });

    buffer.add(sample("/new", 200, 1), 9 * MINUTE);
    buffer.restore(
      [...failed, ...new MetricsBuffer(0).drain(0)].map((cell) => ({ ...cell, minute: 2, route: "/old" })),
      1,
    );
    expect(buffer.drain(10 * MINUTE).map((cell) => cell.route)).toEqual(["/new"]);
  });
});

describe("the summary of a window", () => {
  it("splits server errors from refusals and ranks routes by requests, the slowest by p99", () => {
    const buffer = new MetricsBuffer(0);
    for (let i = 0; i < 8; i += 1) buffer.add(sample("/busy", 200, 2), 0);
    buffer.add(sample("/busy", 500, 2), 0);
    buffer.add(sample("/busy", 422, 2), 0);
    buffer.add(sample("/slow", 200, 900), MINUTE);
    const cells = buffer.drain(0);
    const summary = summarize(cells);
    expect(summary.routes.map((r) => r.route)).toEqual(["/busy", "/slow"]);
    expect(summary.slowest[0]?.route).toBe("/slow");
    expect(summary.routes[0]).toMatchObject({ requests: 10, errors: 1, client_errors: 1, error_rate: 0.1 });
    expect(summary.routes[0]?.rows_read_per_request).toBe(10);
    expect(summary).toMatchObject({ requests: 11, errors: 1, client_errors: 1 });
    expect(summarize([]).error_rate).toBe(0);

    const series = seriesByRoute(cells);
    expect(series.get("GET /busy")?.map((p) => p.minute)).toEqual([0]);
    expect(series.get("GET /slow")?.[0]).toMatchObject({ minute: 1, requests: 1, p99_ms: 900 });
  });
});

describe("the status page's drawing", () => {
  it("draws a gap where a route had no request, and says when there is nothing to draw", () => {
    const svg = latencyChart(
      [
        {
          label: "GET /a",
          points: [
            { minute: 100, value: 5 },
            { minute: 101, value: 7 },
            { minute: 104, value: 3 },
          ],
        },
      ],
      60,
      119,
      "p99",
    );
    const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? "";
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d.match(/L/g)).toHaveLength(1);
    expect(svg).toContain(">10<");
    expect(latencyChart([], 60, 119, "p99")).toContain("No requests in this hour yet");
    expect(niceCeiling(-1)).toBe(1);
  });

  it("escapes what it shows and says when the figures cannot be read", () => {
    const html = statusPage({
      ok: false,
      checks: {
        d1: { ok: false, latency_ms: 3000, error: "timeout" },
        odd_part: { ok: true, latency_ms: 1, detail: "<b>bound</b>" },
      },
      routes: [],
      charted: [],
      chart: "<svg></svg>",
      requests: 0,
      errorRate: 0,
      metricsReadable: false,
      generatedAt: "now",
    });
    expect(html).toContain("Some systems are down");
    expect(html).toContain("odd_part");
    expect(html).toContain("&#60;b&#62;bound&#60;/b&#62;");
    expect(html).toContain("cannot be read right now");
  });
});
