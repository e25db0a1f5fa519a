/**
 * Insight end to end (BE-06 + BE-13): four weeks of a person's ordinary days made through the API —
 * tasks that run long, high energy in the morning and low in the evening — and then everything Insight
 * says about them: the rollups' reads, the patterns, the insights, the nightly training, the predictions
 * it answers, and the scoring of a prediction when the truth arrives.
 */
import { env } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import { afterEach, describe, expect, it } from "vitest";
import type { PatternsDto } from "../src/features/insights/schemas";
import type { ModelVersionSchema } from "../src/features/learning/schemas";
import { analyticsUser, dashboardOf, logEnergy, timelineOf, timeTrackingOf } from "./helpers/analytics";
import { callJson, type TestUser } from "./helpers/api";
import { backdated, nextLocal, realNow, thawClock } from "./helpers/clock";
import { drainLearning, runNightlyCron } from "./helpers/learning";
import { settle } from "./helpers/outbox";
import { completeStep, createTask, type Task } from "./helpers/tasks";

const DAY = 86_400_000;
const HISTORY_DAYS = 28;
const ZONE = "America/New_York";
/** How much longer than estimated this person's work really takes. */
const STRETCH = 1.75;
const ESTIMATES = [10, 20, 30, 40] as const;

afterEach(() => thawClock());

/** A task with two steps, its actual minutes reported, done: both steps completed. */
async function doTask(user: TestUser, estimate: number): Promise<Task> {
  const task = await createTask(user, {
    title: "Write the weekly report",
    category: "Work",
    estimated_minutes: estimate,
    micro_steps: [
      { description: "Collect the numbers", estimated_minutes: 5 },
      { description: "Write it up", estimated_minutes: 5 },
    ],
  });
  await callJson(`/api/v1/tasks/${task.task_id}`, 200, {
    method: "PATCH",
    token: user.token,
    body: { actual_minutes: Math.round(estimate * STRETCH) },
  });
  await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
  return completeStep(user, task.task_id, task.micro_steps?.[1]?.step_id);
}

/** Runs `fn` with the clock at `at` (in the past). */
const at = <T>(instant: number, fn: () => Promise<T>) => backdated(realNow() - instant, fn);

describe("Insight, end to end", () => {
  it("turns four weeks of ordinary days into reads, patterns, insights, trained models and scored predictions", async () => {
    const user = await analyticsUser(ZONE);
    const morning = nextLocal(ZONE, "10:00") - (HISTORY_DAYS + 1) * DAY;
    const evening = nextLocal(ZONE, "19:30") - (HISTORY_DAYS + 1) * DAY;
    for (let d = 0; d < HISTORY_DAYS; d++) {
      await at(morning + d * DAY, async () => {
        await logEnergy(user, { level: "high" });
        await doTask(user, ESTIMATES[d % ESTIMATES.length] ?? 20);
        await doTask(user, ESTIMATES[(d + 1) % ESTIMATES.length] ?? 20);
      });
      await at(evening + d * DAY, () => logEnergy(user, { level: "low" }));
    }
    await settle(user.id);
    await settle(user.id);

    // The reads, from rollups: every task, step and check-in counted once, on its local day.
    const timeline = await timelineOf(user, "?bucket=month");
    const sum = (key: "tasks_completed" | "steps_completed" | "tasks_created") =>
      timeline.buckets.reduce((s, b) => s + b[key], 0);
    expect(sum("tasks_created")).toBe(2 * HISTORY_DAYS);
    expect(sum("tasks_completed")).toBe(2 * HISTORY_DAYS);
    expect(sum("steps_completed")).toBe(4 * HISTORY_DAYS);
    const dashboard = await dashboardOf(user);
    expect(dashboard.timezone).toBe(ZONE);
    expect(dashboard.top_categories[0]?.category ?? "Work").toBe("Work");
    const tracking = await timeTrackingOf(user);
    const work = tracking.by_category.find((c) => c.category === "Work");
    expect(work?.on_time_share).toBe(0);
    expect(work?.ratio ?? 0).toBeGreaterThan(1.6);
    expect(work?.ratio ?? 0).toBeLessThan(1.9);

    // The pattern the person lives: low energy in the evening, reported with its evidence.
    const patterns = await callJson<PatternsDto>("/api/v1/analytics/patterns", 200, { token: user.token });
    const evenings = patterns.patterns.find((p) => p.metric === "low_energy" && p.direction === "higher");
    expect(evenings).toMatchObject({ dimension: "hour" });
    expect(evenings?.confidence ?? 0).toBeGreaterThan(0.7);
    expect(evenings?.sample_size ?? 0).toBeGreaterThanOrEqual(15);
    const insights = await callJson<{ insights: { kind: string; body: string }[] }>(
      "/api/v1/analytics/insights",
      200,
      { token: user.token },
    );
    expect(insights.insights.some((i) => i.kind === "pattern")).toBe(true);

    // The night: one training for this user, a personal duration model that beats their estimates.
    await drainLearning(await runNightlyCron());
    const models = await callJson<z.infer<typeof ModelVersionSchema>[]>("/api/v1/models?kind=duration", 200, {
      token: user.token,
    });
    const promoted = models.find((m) => m.promoted && m.scope === "personal");
    expect(promoted).toBeDefined();
    expect(promoted?.mae ?? Number.POSITIVE_INFINITY).toBeLessThan(promoted?.baseline_mae ?? 0);

    // A new task: the model answers, says which version it is, and is scored when the task is done.
    const next = await createTask(user, {
      title: "Write the monthly report",
      category: "Work",
      estimated_minutes: 20,
    });
    const predicted = await callJson<{
      predicted_minutes: number;
      model: { scope: string; model_id: string };
    }>(`/api/v1/predictions/duration?task_id=${next.task_id}`, 200, { token: user.token });
    expect(predicted.model).toMatchObject({ scope: "personal", model_id: promoted?.model_id });
    expect(predicted.predicted_minutes).toBeGreaterThan(28);
    expect(predicted.predicted_minutes).toBeLessThan(42);
    const energy = await callJson<{ hours: { hour: number; level: string }[] }>(
      "/api/v1/predictions/energy",
      200,
      { token: user.token },
    );
    const levelAt = (hour: number) => energy.hours.find((h) => h.hour === hour)?.level;
    expect(levelAt(10)).toBe("high");
    expect(levelAt(19)).toBe("low");

    await callJson(`/api/v1/tasks/${next.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { actual_minutes: 33 },
    });
    await callJson(`/api/v1/tasks/${next.task_id}/complete`, 200, { method: "POST", token: user.token });
    await settle(user.id);
    const scored = await env.DB.prepare(
      "SELECT actual, abs_error FROM prediction_log WHERE user_id = ? AND kind = 'duration' AND subject = ?",
    )
      .bind(user.id, next.task_id)
      .first<{ actual: number; abs_error: number }>();
    expect(scored?.actual).toBe(33);
    expect(scored?.abs_error).toBeCloseTo(Math.abs(predicted.predicted_minutes - 33), 5);
  });
});
