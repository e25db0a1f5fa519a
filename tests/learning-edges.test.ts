import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ModelKind } from "../src/db/schema";
import { modelInfo } from "../src/features/learning/answering";
import { BLOCK_HOURS, bestBlocks, blockOf, brier } from "../src/features/learning/best-time";
import { meanDifficulty, modeDifficulty } from "../src/features/learning/difficulty";
import { meanMinutes, PRIOR_MINUTES, quantile, trainDuration } from "../src/features/learning/duration";
import { accuracy, MIN_TEST_ROWS, splitHeldOut } from "../src/features/learning/evaluate";
import { FEATURE_NAMES, fitScaler, type TaskSample } from "../src/features/learning/features";
import { historySample, startOf, type TaskFeatureRow } from "../src/features/learning/history";
import type { ModelRow } from "../src/features/learning/model-store";
import { choleskySolve, fitRidge, predictRidge } from "../src/features/learning/ridge";
import { scoreTask } from "../src/features/learning/suggestions";
import { trainDurationKind } from "../src/features/learning/train";
import { newId } from "../src/lib/ids";
import { localParts } from "../src/lib/time";
import { BASE, call, callJson, callWith, createUser, problemOf } from "./helpers/api";
import { freezeClock, thawClock } from "./helpers/clock";
import { capturingLearningQueue } from "./helpers/learning";
import { splitTask } from "./helpers/splitting";
import { completeTask, createTask } from "./helpers/tasks";

const HOUR = 3_600_000;

afterEach(() => thawClock());

const sample = (over: Partial<TaskSample> = {}): TaskSample => ({
  id: "t",
  category: "Work",
  estimate: 30,
  priority: "medium",
  steps: 3,
  hour: 10,
  weekday: 2,
  energy: null,
  titleLength: 20,
  actual: 30,
  difficulty: 3,
  ...over,
});

const modelRow = (over: Partial<ModelRow>): ModelRow => ({
  id: "m",
  userId: "u",
  kind: "duration",
  version: 1,
  algorithm: "ridge-log-minutes-v1",
  params: {},
  metrics: {},
  promoted: true,
  trainSamples: 40,
  testSamples: 10,
  trainedAt: new Date().toISOString(),
  ...over,
});

/** Stores a model version straight into D1, as a training would have (returns its id). */
async function insertModel(
  userId: string,
  kind: ModelKind,
  params: Record<string, unknown>,
  options: { version?: number; promoted?: boolean; metrics?: Record<string, unknown> } = {},
): Promise<string> {
  // Ids grow with each call (UUIDv7): the later stored, the newer.
  const id = newId();
  await env.DB.prepare(
    `INSERT INTO learning_models (id, user_id, kind, version, algorithm, params, metrics, promoted, train_samples, test_samples, trained_at)
     VALUES (?, ?, ?, ?, 'test', ?, ?, ?, 40, 10, ?)`,
  )
    .bind(
      id,
      userId,
      kind,
      options.version ?? 1,
      JSON.stringify(params),
      JSON.stringify(options.metrics ?? { value: 1, baselines: { global_mean: 2 } }),
      options.promoted === false ? 0 : 1,
      new Date().toISOString(),
    )
    .run();
  return id;
}

/** No population model in use: what answers is the user's own model or the prior. */
const withoutPopulation = () => env.DB.prepare("DELETE FROM learning_models WHERE user_id = '*'").run();

/**
 * Difficulty parameters made by hand: 3 + 2 × the energy the task is worked at (low −1, medium 0,
 * high 1), so low energy answers 1, none or medium 3, high 5, whatever else the task is.
 */
function energyOnlyDifficulty(): Record<string, unknown> {
  const d = FEATURE_NAMES.length;
  const weights = new Array<number>(d).fill(0);
  weights[FEATURE_NAMES.indexOf("energy")] = 2;
  return {
    features: [...FEATURE_NAMES],
    means: new Array<number>(d).fill(0),
    scales: new Array<number>(d).fill(1),
    mins: new Array<number>(d).fill(-10),
    maxs: new Array<number>(d).fill(10),
    hours: new Array<number>(24).fill(10),
    intercept: 3,
    weights,
    lambda: 0.1,
  };
}

const logRowsOf = async (userId: string, kind: ModelKind) =>
  (
    await env.DB.prepare("SELECT subject, predicted FROM prediction_log WHERE user_id = ? AND kind = ?")
      .bind(userId, kind)
      .all<{ subject: string; predicted: number }>()
  ).results;

describe("the models' rules at their edges", () => {
  it("names no error for a model stored without a usable one", () => {
    expect(modelInfo(modelRow({ metrics: {} }), "personal")).toMatchObject({
      scope: "personal",
      mae: null,
      baseline_mae: null,
    });
    // A baseline that could not be measured is left out; the best of the others is named.
    expect(
      modelInfo(
        modelRow({ metrics: { value: "n/a", baselines: { own_estimate: null, global_mean: 12.5 } } }),
        "population",
      ),
    ).toMatchObject({ scope: "population", mae: null, baseline_mae: 12.5 });
  });

  it("reports no best time for a kind of task whose blocks each had too few tasks", () => {
    const blocks = bestBlocks({
      overall_rate: 0.5,
      categories: {
        Work: {
          rate: 0.6,
          samples: 20,
          blocks: [
            { start_hour: 9, samples: 8, on_time_rate: 0.55, median_ratio: 1.1 },
            { start_hour: 15, samples: 6, on_time_rate: 0.8, median_ratio: 0.9 },
          ],
        },
        Health: { rate: 0.4, samples: 4, blocks: [] },
      },
    });
    expect(blocks).toEqual([
      {
        category: "Work",
        start_hour: 15,
        end_hour: 15 + BLOCK_HOURS,
        samples: 6,
        on_time_rate: 0.8,
        median_ratio: 0.9,
      },
    ]);
    expect(blockOf(-1)).toBe(21);
  });

  it("scores nothing without rows, and the baselines fall back to the prior", () => {
    expect(brier([], [])).toBeNaN();
    expect(accuracy([], [])).toBeNaN();
    expect(quantile([], 0.5)).toBe(0);
    expect(meanMinutes([])).toBe(PRIOR_MINUTES);
    expect(meanMinutes([sample({ actual: null }), sample({ actual: 0 })])).toBe(PRIOR_MINUTES);
    expect(meanDifficulty([sample({ difficulty: null })])).toBe(3);
    expect(meanDifficulty([sample({ difficulty: 4 }), sample({ difficulty: 5 })])).toBe(5);
  });

  it("takes the most common difficulty as the mode baseline", () => {
    const said = (levels: number[]) => levels.map((difficulty, i) => sample({ id: `d${i}`, difficulty }));
    expect(modeDifficulty(said([5, 5, 5, 2, 3]))).toBe(5);
    expect(modeDifficulty(said([1, 1, 4]))).toBe(1);
    // Labels outside the scale are not the user's.
    expect(modeDifficulty(said([9, 9, 9, 2]))).toBe(2);
    // A tie goes to the lower level, the middle one (3) included.
    expect(modeDifficulty(said([2, 3]))).toBe(2);
    expect(modeDifficulty(said([3, 4, 4, 3]))).toBe(3);
    expect(modeDifficulty(said([5, 1]))).toBe(1);
  });

  it("scales an empty history to the feature layout, centred and unscaled", () => {
    const scaler = fitScaler([]);
    const d = FEATURE_NAMES.length;
    expect(scaler).toEqual({
      means: new Array<number>(d).fill(0),
      scales: new Array<number>(d).fill(1),
      mins: new Array<number>(d).fill(0),
      maxs: new Array<number>(d).fill(0),
    });
  });

  it("knows no start for a task not finished, and samples it at now", () => {
    // One day throughout (its weekday is compared with now's).
    freezeClock();
    const open: TaskFeatureRow = {
      id: "open",
      userId: "u",
      title: "Sort the receipts",
      category: "Personal",
      estimate: 20,
      priority: "low",
      status: "pending",
      dueAt: null,
      completedAt: null,
      createdAt: new Date(Date.now() - HOUR).toISOString(),
      timezone: "UTC",
      actual: null,
      steps: 0,
      difficulty: null,
      splitEnergy: "high",
    };
    expect(startOf(open, Date.now() - 2 * HOUR)).toBeNull();
    const at = historySample(open, { energy: () => "low" });
    expect(at.hour).toBeNull();
    // No start: no check-in is looked up, and the day is today's.
    expect(at.energy).toBe("high");
    expect(at.weekday).toBe(localParts("UTC", Date.now()).weekday);
  });

  it("answers the intercept rather than an overflowing line", () => {
    expect(predictRidge({ intercept: 2.5, weights: [1e308, 1e308], lambda: 1 }, [10, 10])).toBe(2.5);
    // A solution that does not fit in a double is no solution.
    expect(choleskySolve([[1e-6]], [1e308])).toBeNull();
    expect(choleskySolve([[4]], [2])).toEqual([0.5]);
    // Columns so large their products overflow: no weights rather than infinities.
    const huge = fitRidge(
      [
        [1e200, 1e200],
        [2e200, -2e200],
        [3e200, 5e200],
      ],
      [1, 2, 6],
      0.1,
    );
    expect(huge.weights).toEqual([0, 0]);
    expect(huge.intercept).toBe(3);
  });

  it("keeps the training residuals' range and promotes nothing when too few tasks are held out", () => {
    const tasks = Array.from({ length: 16 }, (_, i) =>
      sample({ id: `few-${i}`, actual: 10 + ((i * 7) % 50), estimate: 20 + (i % 3) * 10, hour: i % 24 }),
    );
    const { train, test } = splitHeldOut(tasks);
    // The premise: this history holds out some rows, but fewer than promotion needs.
    expect(test.length).toBeGreaterThan(0);
    expect(test.length).toBeLessThan(MIN_TEST_ROWS);
    const outcome = trainDurationKind({ tasks, checkins: [], current: {} });
    expect(outcome).toMatchObject({
      status: "trained",
      promote: false,
      reason: `fewer than ${MIN_TEST_ROWS} held-out rows`,
      testSamples: test.length,
    });
    const fitted = trainDuration(train);
    expect(outcome.params).toMatchObject({ low: fitted.low, high: fitted.high });
  });

  it("says how soon a task is due in plain words", () => {
    const now = Date.now();
    const base = { priority: "medium" as const, now, minutes: 30, difficulty: 3, energy: 2 };
    expect(scoreTask({ ...base, dueAt: now + HOUR }).reasons).toEqual(["It is due in 1 hour."]);
    expect(scoreTask({ ...base, dueAt: now + 5 * HOUR }).reasons).toEqual(["It is due in 5 hours."]);
    // Days away: not a reason yet, though it still counts.
    const later = scoreTask({ ...base, dueAt: now + 72 * HOUR });
    expect(later.reasons).toEqual(["It is ready to start: nothing it waits on is left."]);
    expect(later.score).toBeLessThan(scoreTask({ ...base, dueAt: now + 5 * HOUR }).score);
  });
});

describe("predictions of a finished task", () => {
  it("answer without logging a prediction: its truth is already in", async () => {
    await withoutPopulation();
    const user = await createUser();
    const task = await createTask(user, { title: "Renew the passport", estimated_minutes: 40 });
    await completeTask(user, task.task_id);
    const duration = await callJson<{ predicted_minutes: number; prediction_id: string | null }>(
      `/api/v1/predictions/duration?task_id=${task.task_id}`,
      200,
      { token: user.token },
    );
    expect(duration).toMatchObject({ predicted_minutes: 40, prediction_id: null });
    const difficulty = await callJson<{ difficulty: number; prediction_id: string | null }>(
      `/api/v1/predictions/difficulty?task_id=${task.task_id}`,
      200,
      { token: user.token },
    );
    expect(difficulty).toMatchObject({ difficulty: 3, prediction_id: null });
    expect(await logRowsOf(user.id, "duration")).toEqual([]);
    expect(await logRowsOf(user.id, "difficulty")).toEqual([]);
  });
});

describe("the splitter's default difficulty, once predicted", () => {
  it("repeats the logged prediction unless the split says the energy it is for", async () => {
    await withoutPopulation();
    const user = await createUser({ timezone: "UTC" });
    await insertModel(user.id, "difficulty", energyOnlyDifficulty());
    const task = await createTask(user, { title: "Draft the grant proposal", estimated_minutes: 90 });
    // No energy known yet: the model answers 3, and that answer is logged for the task.
    const predicted = await callJson<{ difficulty: number; model: { scope: string } }>(
      `/api/v1/predictions/difficulty?task_id=${task.task_id}`,
      200,
      { token: user.token },
    );
    expect(predicted).toMatchObject({ difficulty: 3, model: { scope: "personal" } });
    // A check-in now would make the model say 5, but the task was already answered.
    await callJson("/api/v1/analytics/energy", 201, {
      method: "POST",
      token: user.token,
      body: { level: "high" },
    });
    const split = await splitTask(user, task.task_id, { splitter: "local" });
    expect(split).toMatchObject({ difficulty: 3, difficulty_source: "personal" });
    // Said for this split: the model is asked again, with that energy.
    const low = await splitTask(user, task.task_id, { splitter: "local", energy_level: "low" });
    expect(low).toMatchObject({ difficulty: 1, difficulty_source: "personal", energy_level: "low" });
  });
});

describe("GET /suggestions/now with what the user said and their best time", () => {
  it("reads the energy they checked in, and names the block when their kind of task goes well", async () => {
    await withoutPopulation();
    freezeClock();
    const user = await createUser({ timezone: "UTC" });
    const hour = localParts("UTC", Date.now()).hour;
    const start = blockOf(hour);
    await insertModel(user.id, "best_time", {
      overall_rate: 0.5,
      categories: {
        Work: {
          rate: 0.55,
          samples: 30,
          blocks: [{ start_hour: start, samples: 9, on_time_rate: 0.9, median_ratio: 0.8 }],
        },
        // Their health tasks go best at another time of day.
        Health: {
          rate: 0.5,
          samples: 30,
          blocks: [{ start_hour: (start + 12) % 24, samples: 9, on_time_rate: 0.9, median_ratio: 0.8 }],
        },
      },
    });
    // The health task first: ties go to the older task, so only the block can put the work task ahead.
    const health = await createTask(user, {
      title: "Book a check-up",
      estimated_minutes: 45,
      category: "Health",
    });
    const work = await createTask(user, {
      title: "Review the budget",
      estimated_minutes: 45,
      category: "Work",
    });
    await callJson("/api/v1/analytics/energy", 201, {
      method: "POST",
      token: user.token,
      body: { level: "low" },
    });
    const answer = await callJson<{
      local_hour: number;
      energy_now: { level: string; source: string };
      suggestions: { task_id: string; reasons: string[] }[];
    }>("/api/v1/suggestions/now", 200, { token: user.token });
    expect(answer.local_hour).toBe(hour);
    expect(answer.energy_now).toEqual({ level: "low", source: "check_in" });
    const hh = (h: number) => `${String(h % 24).padStart(2, "0")}:00`;
    const reasonsOf = (id: string) => answer.suggestions.find((s) => s.task_id === id)?.reasons;
    expect(reasonsOf(work.task_id)).toContain(
      `You usually finish Work tasks within your estimate between ${hh(start)} and ${hh(start + BLOCK_HOURS)}.`,
    );
    expect(reasonsOf(health.task_id)).toEqual(["It is ready to start: nothing it waits on is left."]);
    // The block lifts the task it names above an otherwise equal one.
    expect(answer.suggestions[0]?.task_id).toBe(work.task_id);
  });
});

describe("GET /models, page by page", () => {
  it("follows the cursor to older versions, and lists the population's only on the first page", async () => {
    await withoutPopulation();
    const user = await createUser();
    const v1 = await insertModel(user.id, "duration", {}, { version: 1, promoted: false });
    const v2 = await insertModel(user.id, "duration", {}, { version: 2, promoted: true });
    const v3 = await insertModel(user.id, "duration", {}, { version: 3, promoted: false });
    const everyone = await insertModel("*", "energy", {}, { metrics: { value: 0.4, baselines: {} } });
    try {
      interface Version {
        model_id: string;
        scope: string;
        promoted: boolean;
        mae: number | null;
        baseline_mae: number | null;
        live: { scored: number; mae: number | null } | null;
      }
      const first = await call("/api/v1/models?limit=2", { token: user.token });
      expect(first.status).toBe(200);
      const firstPage = await first.json<Version[]>();
      expect(firstPage.map((m) => [m.model_id, m.scope])).toEqual([
        [v3, "personal"],
        [v2, "personal"],
        [everyone, "population"],
      ]);
      expect(firstPage.map((m) => m.live)).toEqual([
        null,
        { scored: 0, mae: null },
        { scored: 0, mae: null },
      ]);
      expect(firstPage[2]).toMatchObject({ mae: 0.4, baseline_mae: null });
      const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
      if (!next) throw new Error("the first page links to no next one");
      const second = await call(next.replace(BASE, ""), { token: user.token });
      expect(second.status).toBe(200);
      expect(second.headers.get("link")).toBeNull();
      expect((await second.json<Version[]>()).map((m) => m.model_id)).toEqual([v1]);
    } finally {
      await withoutPopulation();
    }
  });
});

describe("POST /models/retrain while one is queued", () => {
  it("says how long ago the queued one was asked for", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const { queue } = capturingLearningQueue();
    const retrain = () =>
      callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", { method: "POST", token: user.token });
    expect((await retrain()).status).toBe(202);

    const justNow = await retrain();
    expect(justNow.status).toBe(409);
    expect((await problemOf(justNow)).detail).toContain("(asked for just now)");

    clock.tick(60_000);
    const aMinute = await retrain();
    expect(aMinute.status).toBe(409);
    expect((await problemOf(aMinute)).detail).toContain("(asked for 1 minute ago)");

    clock.tick(2 * 60_000);
    const minutes = await retrain();
    expect(minutes.status).toBe(409);
    const problem = await problemOf(minutes);
    expect(problem.code).toBe("training_queued");
    expect(problem.detail).toContain("(asked for 3 minutes ago)");
    expect(problem.detail).toContain("ask again in 1 minute if you still need one");
    expect(minutes.headers.get("retry-after")).toBe("60");
  });
});
