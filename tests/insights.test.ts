import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ZERO_COUNTERS } from "../src/features/analytics/rollup-queries";
import { DEFAULT_DAYS } from "../src/features/insights/schemas";
import type { ProblemBody } from "../src/lib/errors";
import { addDays } from "../src/lib/time";
import { dashboardOf } from "./helpers/analytics";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock, thawClock } from "./helpers/clock";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { generateHistory, type Moment } from "./helpers/insight-histories";
import { getInsights, getPatterns, type Insights, localToday, seedRollups } from "./helpers/insights";

function aiBinding(): Ai {
  const ai = env.AI;
  if (!ai) throw new Error("the AI binding is missing");
  return ai;
}

// The clock stands still for each test, so the local today a history is built to is the server's too
// (even across a local midnight). setup.ts thaws it after each test.
beforeEach(() => {
  freezeClock();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The user's AI budget, counting how often it is asked. */
function countingLimiter(): RateLimit & { asked: number } {
  const limiter = {
    asked: 0,
    limit: async (options: { key: string }) => {
      limiter.asked++;
      return env.AI_LIMITER.limit(options);
    },
  };
  return limiter as unknown as RateLimit & { asked: number };
}

const MORNING = (m: Moment) => (m.hour >= 9 && m.hour < 12 ? 0.85 : 0.45);
const ZONE = "America/New_York";

/** A user with 90 days of history in which mornings are clearly their focus time. */
async function morningPerson(): Promise<TestUser> {
  const user = await createUser({ timezone: ZONE });
  const rows = generateHistory({
    seed: "planted-0",
    to: localToday(ZONE),
    days: 90,
    sessionsPerDay: 3,
    timedPerDay: 0.5,
    checkinsPerDay: 1,
    focusCompletion: MORNING,
  });
  await seedRollups(user.id, rows);
  return user;
}

/** A fake model that rewrites each insight it is sent with `rewrite`. */
function fakeModel(rewrite: (item: { insight_id: string; title: string; body: string }) => object) {
  return vi.spyOn(aiBinding(), "run").mockImplementation((async (_model: string, input: unknown) => {
    const messages = (input as { messages: { role: string; content: string }[] }).messages;
    const sent = JSON.parse(messages.find((m) => m.role === "user")?.content ?? "[]") as {
      insight_id: string;
      title: string;
      body: string;
    }[];
    return { response: { insights: sent.map(rewrite) } };
  }) as never);
}

const insightsPath = "/api/v1/analytics/insights";

describe("insights and patterns agree", () => {
  it("report the same hour pattern from the same rollups (last week's hours are read apart, never twice)", async () => {
    const user = await morningPerson();
    const patterns = await getPatterns(user, `?days=${DEFAULT_DAYS}`);
    const insights = await getInsights(user);
    const hourly = patterns.patterns.filter((p) => p.dimension === "hour");
    expect(hourly.length).toBeGreaterThan(0);
    const hourInsights = insights.insights.filter(
      (i) => i.kind === "pattern" && i.evidence.dimension === "hour",
    );
    expect(hourInsights.length).toBeGreaterThan(0);
    for (const insight of hourInsights) {
      const same = hourly.find((p) => p.key === insight.evidence.key && p.metric === insight.evidence.metric);
      expect(same).toBeDefined();
      expect(insight.evidence.sample_size).toBe(same?.sample_size);
      expect(insight.evidence.rate).toBe(same?.rate);
      expect(insight.evidence.rate_elsewhere).toBe(same?.rate_elsewhere);
      expect(insight.evidence.confidence).toBe(same?.confidence);
    }
  });
});

describe("GET /api/v1/analytics/patterns", () => {
  it("finds the planted pattern in seeded rollups, with its sample size, confidence and the statistic's name", async () => {
    const user = await morningPerson();
    const today = localToday(ZONE);
    const body = await getPatterns(user);
    expect(body).toMatchObject({
      timezone: ZONE,
      range: { from: addDays(today, 1 - DEFAULT_DAYS), to: today },
      statistic: "bonferroni_beta_binomial_margin",
      min_confidence: 0.7,
      min_samples: 15,
      margin: 0.1,
    });
    expect(body.definition).toContain("Bonferroni");
    expect(body.examined).toBeGreaterThan(20);
    const morning = body.patterns.find((p) => p.metric === "focus_completion" && p.dimension === "hour");
    expect(morning).toMatchObject({ key: "09-12", label: "9:00–12:00", direction: "higher" });
    expect(morning?.confidence).toBeGreaterThan(0.7);
    expect(morning?.sample_size).toBeGreaterThanOrEqual(15);
    expect(morning?.rate).toBeGreaterThan(morning?.rate_elsewhere ?? 1);
    for (const p of body.patterns) {
      expect(p.confidence).toBeGreaterThan(0.7);
      expect(p.sample_size).toBeGreaterThanOrEqual(15);
    }
  });

  it("looks only as far back as asked: 14 days hold too little for this pattern", async () => {
    const user = await morningPerson();
    const today = localToday(ZONE);
    const body = await getPatterns(user, "?days=14");
    expect(body.range).toEqual({ from: addDays(today, -13), to: today });
    expect(body.patterns.filter((p) => p.metric === "focus_completion" && p.dimension === "hour")).toEqual(
      [],
    );
  });

  it("can report a weekday's active days at the default range (120 days: 17 of each weekday)", async () => {
    const user = await createUser({ timezone: ZONE });
    const today = localToday(ZONE);
    await seedRollups(
      user.id,
      generateHistory({
        seed: "rest-on-saturdays",
        to: today,
        days: DEFAULT_DAYS,
        sessionsPerDay: 1,
        checkinsPerDay: 0.5,
        activeDayRate: ({ weekday }) => (weekday === 6 ? 0.05 : 0.9),
      }),
    );
    const body = await getPatterns(user);
    expect(DEFAULT_DAYS).toBeGreaterThanOrEqual(106);
    const saturdays = body.patterns.find((p) => p.metric === "active_days" && p.key === "saturday");
    expect(saturdays).toMatchObject({ dimension: "weekday", direction: "lower" });
    expect(saturdays?.sample_size).toBeGreaterThanOrEqual(15);
    expect(saturdays?.confidence).toBeGreaterThan(0.7);
    // At 90 days a weekday holds at most 13: never a pattern.
    const ninety = await getPatterns(user, "?days=90");
    expect(ninety.patterns.filter((p) => p.metric === "active_days")).toEqual([]);
  });

  it("shows another user none of it: their own empty history, nothing examined", async () => {
    await morningPerson();
    const other = await createUser();
    const body = await getPatterns(other, "?days=400");
    expect(body).toMatchObject({ timezone: "UTC", examined: 0, patterns: [] });
    expect(body.range.to).toBe(localToday("UTC"));
  });

  it("answers 422 for days out of range or not a whole number, naming the field", async () => {
    const user = await createUser();
    for (const days of ["13", "401", "abc", "2.5", "-90", ""]) {
      const res = await call(`/api/v1/analytics/patterns?days=${days}`, { token: user.token });
      expect(res.status).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.[0]?.field).toBe("days");
      expect(problem.detail).toMatch(/^days: /);
    }
    const insights = await call(`${insightsPath}?days=1000`, { token: user.token });
    expect(insights.status).toBe(422);
  });

  it("needs a credential with the analytics:read scope", async () => {
    const user = await createUser();
    expect((await call("/api/v1/analytics/patterns")).status).toBe(401);
    expect((await call(insightsPath)).status).toBe(401);
    const { token } = await createApiToken(user.token, { name: "focus only", scopes: ["focus:read"] });
    const refused = await call("/api/v1/analytics/patterns", { token });
    expect(refused.status).toBe(403);
    expect((await refused.json<ProblemBody>()).detail).toContain("analytics:read");
    const { token: reader } = await createApiToken(user.token, {
      name: "reader",
      scopes: ["analytics:read"],
    });
    expect((await call("/api/v1/analytics/patterns", { token: reader })).status).toBe(200);
  });

  it("reads in at most 2 round trips, patterns and insights alike", async () => {
    const user = await morningPerson();
    vi.spyOn(aiBinding(), "run").mockResolvedValue({ response: "no" } as never);
    expect(await tripsFor("/api/v1/analytics/patterns", { token: user.token })).toEqual({
      status: 200,
      trips: 2 + LOOKUP,
    });
    expect(await tripsFor(insightsPath, { token: user.token })).toEqual({ status: 200, trips: 2 + LOOKUP });
  });

  it("is in the OpenAPI document with every status it answers", async () => {
    const doc = await callJson<{ paths: Record<string, { get?: { responses: Record<string, unknown> } }> }>(
      "/openapi.json",
      200,
    );
    for (const path of ["/api/v1/analytics/patterns", "/api/v1/analytics/insights"]) {
      const statuses = Object.keys(doc.paths[path]?.get?.responses ?? {});
      expect(statuses).toEqual(expect.arrayContaining(["200", "401", "403", "422"]));
    }
  });
});

describe("GET /api/v1/analytics/insights", () => {
  it("turns the reported pattern into kind words, local when no model answers", async () => {
    const user = await morningPerson();
    const res = await callWith({ INSIGHTS_WRITER: "local" }, insightsPath, { token: user.token });
    expect(res.status).toBe(200);
    const body = await res.json<Insights>();
    expect(body.timezone).toBe(ZONE);
    const pattern = body.insights.find(
      (i) =>
        i.kind === "pattern" && i.evidence.metric === "focus_completion" && i.evidence.dimension === "hour",
    );
    expect(pattern).toMatchObject({ title: "Focus comes easier 9:00–12:00", phrased_by: "local" });
    expect(pattern?.evidence).toMatchObject({ dimension: "hour", key: "09-12" });
    expect(pattern?.body).toMatch(/^You finish \d+% of the focus sessions you start between 9:00 and 12:00/);
    expect(body.insights.find((i) => i.title === "Plan focus for 9:00–12:00")?.kind).toBe("suggestion");
    expect(body.insights.every((i) => i.phrased_by === "local")).toBe(true);
    // The same facts, the same ids.
    const again = await (
      await callWith({ INSIGHTS_WRITER: "local" }, insightsPath, { token: user.token })
    ).json<Insights>();
    expect(again.insights.map((i) => i.insight_id)).toEqual(body.insights.map((i) => i.insight_id));
  });

  it("gives a new user gentle suggestions and no pattern, and none of another user's insights", async () => {
    const someone = await morningPerson();
    const theirs = await (
      await callWith({ INSIGHTS_WRITER: "local" }, insightsPath, { token: someone.token })
    ).json<Insights>();
    const user = await createUser();
    const mine = await (
      await callWith({ INSIGHTS_WRITER: "local" }, insightsPath, { token: user.token })
    ).json<Insights>();
    expect(mine.insights.map((i) => i.kind)).toEqual(["suggestion", "suggestion"]);
    expect(mine.insights.map((i) => i.title)).toContain("Log your energy to see your patterns");
    const shared = mine.insights.filter((i) => theirs.insights.some((t) => t.insight_id === i.insight_id));
    expect(shared.map((i) => i.title)).not.toContain("Focus comes easier 9:00–12:00");
    expect(theirs.insights.some((i) => i.kind === "pattern")).toBe(true);
  });

  it("lets Workers AI rephrase the words (numbers kept), and says so", async () => {
    const user = await morningPerson();
    const run = fakeModel((i) => ({
      insight_id: i.insight_id,
      title: `✨ ${i.title}`,
      body: `${i.body} You've got this.`,
    }));
    const body = await getInsights(user);
    expect(run).toHaveBeenCalledTimes(1);
    expect(body.insights.length).toBeGreaterThan(0);
    for (const i of body.insights) {
      expect(i.phrased_by).toBe("ai");
      expect(i.title.startsWith("✨ ")).toBe(true);
      expect(i.body.endsWith("You've got this.")).toBe(true);
    }
  });

  it("keeps the local words when the model judges, changes a number, or answers nonsense", async () => {
    const judging = fakeModel((i) => ({ ...i, body: `${i.body} Try not to fall behind.` }));
    const first = await getInsights(await morningPerson());
    // Refused answers are asked once more, then the local words stand.
    expect(judging).toHaveBeenCalledTimes(2);
    expect(first.insights.every((i) => i.phrased_by === "local" && !i.body.includes("behind"))).toBe(true);
    vi.restoreAllMocks();

    const changing = fakeModel((i) => ({ ...i, body: i.body.replace(/\d+/, "999") }));
    expect((await getInsights(await morningPerson())).insights.every((i) => i.phrased_by === "local")).toBe(
      true,
    );
    expect(changing).toHaveBeenCalled();
    vi.restoreAllMocks();

    const nonsense = vi
      .spyOn(aiBinding(), "run")
      .mockResolvedValue({ response: "Sure! Here are warmer words:" } as never);
    expect((await getInsights(await morningPerson())).insights.every((i) => i.phrased_by === "local")).toBe(
      true,
    );
    expect(nonsense).toHaveBeenCalledTimes(2);
  });

  it("remembers the rephrasings: a refresh neither calls the model nor spends the AI budget", async () => {
    const user = await morningPerson();
    const run = fakeModel((i) => ({ insight_id: i.insight_id, title: `✨ ${i.title}`, body: i.body }));
    const limiter = countingLimiter();
    const read = async (who: TestUser) =>
      (await callWith({ AI_LIMITER: limiter }, insightsPath, { token: who.token })).json<Insights>();
    const first = await read(user);
    expect(first.insights.every((i) => i.phrased_by === "ai")).toBe(true);
    expect([run.mock.calls.length, limiter.asked]).toEqual([1, 1]);
    const again = await read(user);
    expect(again).toEqual(first);
    expect([run.mock.calls.length, limiter.asked]).toEqual([1, 1]);
    // Another user's insights are theirs: asked for, and paid for, once.
    const other = await morningPerson();
    await read(other);
    expect([run.mock.calls.length, limiter.asked]).toEqual([2, 2]);
    await read(other);
    expect([run.mock.calls.length, limiter.asked]).toEqual([2, 2]);
  });

  it("answers with the local words within the timeout when the model hangs", async () => {
    // Timed on the real clock.
    thawClock();
    const user = await morningPerson();
    const run = vi.spyOn(aiBinding(), "run").mockReturnValue(new Promise(() => {}) as never);
    const started = Date.now();
    const res = await callWith({ INSIGHTS_AI_TIMEOUT_MS: "300" }, insightsPath, { token: user.token });
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect((await res.json<Insights>()).insights.every((i) => i.phrased_by === "local")).toBe(true);
    expect(run).toHaveBeenCalledTimes(1);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1300);
  });

  it("never calls the model when configured local, when unbound, or when the user's AI budget is spent", async () => {
    const user = await morningPerson();
    const run = fakeModel((i) => ({ ...i, title: `✨ ${i.title}` }));
    const refusing = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    for (const bindings of [{ INSIGHTS_WRITER: "local" }, { AI: undefined }, { AI_LIMITER: refusing }]) {
      const res = await callWith(bindings, insightsPath, { token: user.token });
      expect(res.status).toBe(200);
      expect((await res.json<Insights>()).insights.every((i) => i.phrased_by === "local")).toBe(true);
    }
    expect(run).not.toHaveBeenCalled();
  });
});

describe("the streak insight", () => {
  it("says the streak the dashboard shows, a streak freeze included", async () => {
    const user = await createUser({ timezone: ZONE });
    const today = localToday(ZONE);
    // Eight days in a row (a freeze earned at seven), a day missed, then yesterday and today.
    const active = [
      ...Array.from({ length: 8 }, (_, i) => addDays(today, -10 + i)),
      addDays(today, -1),
      today,
    ];
    await env.DB.batch(
      active.map((day) =>
        env.DB.prepare("INSERT INTO activity_days (user_id, day, steps) VALUES (?, ?, 2)").bind(user.id, day),
      ),
    );
    await seedRollups(
      user.id,
      active.map((day) => ({
        day,
        dim: "all" as const,
        key: "",
        ...ZERO_COUNTERS,
        stepsCompleted: 2,
        xp: 20,
      })),
    );
    const dashboard = await dashboardOf(user);
    expect(dashboard.streak.current_days).toBe(10);
    const insights = await (
      await callWith({ INSIGHTS_WRITER: "local" }, insightsPath, { token: user.token })
    ).json<Insights>();
    const streak = insights.insights.find((i) => i.evidence.streak_days !== undefined);
    expect(streak).toMatchObject({ title: "A 10-day streak", evidence: { streak_days: 10 } });
    expect(streak?.body).toBe("Your daily streak is at 10 days. Small steps add up.");
  });
});
