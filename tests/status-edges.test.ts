import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import type { Env } from "../src/env";
import type { Check } from "../src/features/health/readiness";
import type { RouteSummary } from "../src/features/metrics/summary";
import { latencyChart } from "../src/features/status/chart";
import { type StatusView, statusPage } from "../src/features/status/page";
import { forgetStatus, STATUS_TTL_MS, statusHtml } from "../src/features/status/service";

beforeEach(() => forgetStatus());

/** The `d` of each line's path in the chart, in the order the lines are drawn. */
const pathsOf = (svg: string) => [...svg.matchAll(/<path d="([^"]*)"/g)].map((match) => match[1]);

describe("the latency chart", () => {
  const to = Math.floor(Date.now() / 60_000);
  const from = to - 59;

  it("joins minutes that follow each other and starts a new stroke after a minute without requests", () => {
    const svg = latencyChart(
      [
        {
          label: "GET /api/v1/tasks",
          // Out of order on purpose: the line is drawn minute by minute all the same.
          points: [
            { minute: to - 1, value: 40 },
            { minute: to - 10, value: 20 },
            { minute: to - 9, value: 30 },
            { minute: to, value: 50 },
          ],
        },
      ],
      from,
      to,
      "p99",
    );
    const [d] = pathsOf(svg);
    // Two strokes: minutes −10 and −9 joined, a gap, then −1 and now joined.
    expect(d?.match(/[ML]/g)).toEqual(["M", "L", "M", "L"]);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).not.toContain("No requests in this hour yet");
  });

  it("draws a lone minute as a point with no line to the next", () => {
    const svg = latencyChart(
      [
        { label: "GET /a", points: [{ minute: to - 30, value: 5 }] },
        {
          label: "GET /b",
          points: [
            { minute: to - 5, value: 5 },
            { minute: to - 3, value: 5 },
          ],
        },
      ],
      from,
      to,
      "p99",
    );
    expect(pathsOf(svg).map((d) => d?.match(/[ML]/g))).toEqual([["M"], ["M", "M"]]);
  });
});

const check = (ok: boolean, extra: Partial<Check> = {}): Check => ({ ok, latency_ms: 3, ...extra });

function route(path: string, requests: number, errorRate: number): RouteSummary {
  return {
    route: path,
    method: "GET",
    requests,
    errors: Math.round(requests * errorRate),
    error_rate: errorRate,
    client_errors: 0,
    p50_ms: 4,
    p95_ms: 8,
    p99_ms: 9,
    mean_ms: 5,
    max_ms: 12,
    d1_statements_per_request: 1,
    rows_read_per_request: 1,
    rows_written_per_request: 0,
  };
}

function view(overrides: Partial<StatusView>): StatusView {
  return {
    ok: true,
    checks: { d1: check(true) },
    routes: [],
    charted: [],
    chart: "<svg></svg>",
    requests: 0,
    errorRate: 0,
    metricsReadable: true,
    generatedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** The text of the 5xx cell of a route's row. */
const errorCellOf = (html: string, key: string) =>
  new RegExp(`<code>${key}</code></td>(?:<td class="n">[^<]*</td>){3}<td class="n">([^<]*)</td>`).exec(
    html,
  )?.[1];

describe("the status page", () => {
  it("shows a rare server error with two decimals instead of rounding it away, and others with one", () => {
    const html = statusPage(
      view({
        routes: [route("/rare", 1000, 0.0012), route("/often", 40, 0.25), route("/never", 30, 0)],
        requests: 1070,
        errorRate: 0.0047,
      }),
    );
    expect(errorCellOf(html, "GET /rare")).toBe("0.12%");
    expect(errorCellOf(html, "GET /often")).toBe("25.0%");
    expect(errorCellOf(html, "GET /never")).toBe("0.0%");
    expect(html).toContain("1070 requests, 0.47% answered with a server error.");
  });

  it("names a part it has no friendly name for by its own name, escaped", () => {
    const html = statusPage(
      view({
        ok: false,
        checks: {
          d1: check(true),
          "search<index>": check(false, { error: "timeout" }),
          ai: check(true, { detail: "bound" }),
        },
      }),
    );
    expect(html).toContain('<td>search&#60;index&#62;</td><td class="down">Down</td>');
    expect(html).not.toContain("search<index>");
    expect(html).toMatch(/<td>Database \(D1\)<\/td><td class="up">Operational/);
    expect(html).toContain('<td class="note">timeout</td>');
    expect(html).toContain('<td class="note">bound</td>');
    expect(html).toContain("Some systems are down");
  });
});

describe("building the status page", () => {
  const db = createDatabase(env.DB);
  /** The Worker's bindings, with one that throws when read: a bug in the build, not a part that is down. */
  const throwingOn = (binding: keyof Env): Env =>
    new Proxy(env, {
      get(target, prop, receiver) {
        if (prop === binding) throw new Error(`reading ${binding} failed`);
        return Reflect.get(target, prop, receiver);
      },
    });

  it("does not keep a build that failed: the next load, however soon, builds afresh", async () => {
    const now = Date.now();
    const failed = statusHtml(throwingOn("AI"), db, now);
    await expect(failed).rejects.toThrow("reading AI failed");

    const next = statusHtml(env, db, now + 1);
    expect(next).not.toBe(failed);
    expect(await next).toContain("All systems operational");
    // That build is kept in turn.
    expect(statusHtml(env, db, now + 2)).toBe(next);
  });

  it("keeps the newer build when an older one fails after it started", async () => {
    const now = Date.now();
    const older = statusHtml(throwingOn("AI"), db, now);
    // Past the older build's lifetime: a new build starts while the older one is still running.
    const newer = statusHtml(env, db, now + STATUS_TTL_MS);
    expect(newer).not.toBe(older);
    await expect(older).rejects.toThrow("reading AI failed");
    expect(await newer).toContain("All systems operational");
    // The older build's failure did not throw the newer one away.
    expect(statusHtml(env, db, now + STATUS_TTL_MS + 1)).toBe(newer);
  });

  it("builds afresh once its page is older than the lifetime, or when the clock reads before it", async () => {
    const now = Date.now();
    const first = statusHtml(env, db, now);
    await first;
    expect(statusHtml(env, db, now + STATUS_TTL_MS - 1)).toBe(first);
    const later = statusHtml(env, db, now + STATUS_TTL_MS);
    expect(later).not.toBe(first);
    await later;
    const earlier = statusHtml(env, db, now);
    expect(earlier).not.toBe(later);
    expect(await earlier).toContain("<svg");
  });
});
