import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import type { LearningMessage } from "../src/features/learning/messages";
import { nightOf } from "../src/features/learning/runs";
import { trainOwner } from "../src/features/learning/training";
import { callJson, callWith, createUser, problemOf } from "./helpers/api";
import {
  capturingLearningQueue,
  drainLearning,
  insertHistory,
  markActive,
  runLearningQueue,
  runNightlyCron,
} from "./helpers/learning";
import { generateHistory } from "./helpers/learning-history";

interface RunRow {
  status: string;
  training_ms: number | null;
  detail: string | null;
}

interface ModelRow {
  id: string;
  kind: string;
  version: number;
  promoted: number;
  metrics: string;
  train_samples: number;
  test_samples: number;
}

const runsOf = async (userId: string) =>
  (
    await env.DB.prepare("SELECT night, status, training_ms, detail FROM learning_runs WHERE user_id = ?")
      .bind(userId)
      .all<RunRow & { night: string }>()
  ).results;

const modelsOf = async (userId: string) =>
  (
    await env.DB.prepare(
      "SELECT id, kind, version, promoted, metrics, train_samples, test_samples FROM learning_models WHERE user_id = ? ORDER BY kind, version",
    )
      .bind(userId)
      .all<ModelRow>()
  ).results;

const trainsFor = (messages: LearningMessage[], userId: string) =>
  messages.filter((m) => m.type === "train" && m.user_id === userId);

describe("the nightly training", () => {
  it("trains each active user once a night, however often the cron runs", async () => {
    const optimist = await createUser();
    const quiet = await createUser();
    const idle = await createUser();
    // Four months of history is ~480 tasks: enough to train and promote, quick to insert.
    await insertHistory(optimist.id, generateHistory("optimist", { days: 120, now: Date.now() }));
    await insertHistory(quiet.id, generateHistory("steady", { days: 2, now: Date.now() }));
    await markActive(optimist.id);
    await markActive(quiet.id, 3);
    await markActive(idle.id, 45);

    const first = await runNightlyCron();
    const second = await runNightlyCron();
    expect(first.filter((m) => m.type === "page")).toHaveLength(1);
    expect(second.filter((m) => m.type === "page")).toHaveLength(1);
    const handled = await drainLearning([...first, ...second]);
    expect(trainsFor(handled, optimist.id)).toHaveLength(1);
    expect(trainsFor(handled, quiet.id)).toHaveLength(1);
    // Not active in the last 30 days: not trained.
    expect(trainsFor(handled, idle.id)).toHaveLength(0);
    // The population model is claimed by the first cron run only.
    expect(trainsFor(handled, "*").length).toBeLessThanOrEqual(1);

    const [run] = await runsOf(optimist.id);
    expect(run?.night).toBe(nightOf(Date.now()));
    expect(run?.status).toBe("done");
    expect(run?.training_ms).toBeGreaterThan(0);
    const detail = JSON.parse(run?.detail ?? "{}") as { kinds: Record<string, { promoted: boolean }> };
    expect(detail.kinds.duration?.promoted).toBe(true);

    const models = await modelsOf(optimist.id);
    const duration = models.filter((m) => m.kind === "duration");
    expect(duration).toHaveLength(1);
    expect(duration[0]).toMatchObject({ version: 1, promoted: 1 });
    const metrics = JSON.parse(duration[0]?.metrics ?? "{}") as {
      value: number;
      baselines: Record<string, number>;
    };
    expect(metrics.value).toBeLessThan(metrics.baselines.own_estimate ?? 0);
    expect(duration[0]?.test_samples).toBeGreaterThanOrEqual(5);

    // Too little history: skipped, no model of their own.
    expect((await runsOf(quiet.id))[0]?.status).toBe("skipped");
    expect(await modelsOf(quiet.id)).toEqual([]);
    expect(await runsOf(idle.id)).toEqual([]);
  });

  it("keeps the promoted version when a new one is no better on the same held-out tasks", async () => {
    const user = await createUser();
    await insertHistory(user.id, generateHistory("optimist", { days: 90, now: Date.now(), seed: "again" }));
    const db = createDatabase(env.DB);
    await trainOwner(db, user.id, "test-night-1");
    // The same history again: the candidate ties the promoted version, and a tie is not better.
    const summary = await trainOwner(db, user.id, "test-night-2");
    expect(summary.kinds.duration).toMatchObject({ status: "trained", version: 2, promoted: false });
    expect(summary.kinds.duration?.reason).toMatch(/promoted version/);
    const duration = (await modelsOf(user.id)).filter((m) => m.kind === "duration");
    expect(duration.map((m) => [m.version, m.promoted])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    const second = JSON.parse(duration[1]?.metrics ?? "{}") as { current: number; value: number };
    expect(second.current).toBe(second.value);
    // Exactly one promoted version per kind.
    const promoted = (await modelsOf(user.id)).filter((m) => m.promoted === 1).map((m) => m.kind);
    expect(new Set(promoted).size).toBe(promoted.length);
  });

  it("trains on a year of history in well under a second", async () => {
    const user = await createUser();
    const history = generateHistory("optimist", { now: Date.now(), seed: "a-year" });
    await insertHistory(user.id, history);
    const summary = await trainOwner(createDatabase(env.DB), user.id, "test-year");
    expect(summary.tasks).toBe(history.tasks.length);
    expect(summary.checkins).toBe(history.checkins.length);
    expect(summary.trainingMs).toBeLessThan(1000);
    console.log(
      `training a year (${summary.tasks} tasks, ${summary.checkins} check-ins): ${summary.trainingMs} ms`,
    );
  });

  it("drops malformed messages and retries a training that fails", async () => {
    const { result } = await runLearningQueue([{ type: "nonsense" } as unknown as LearningMessage]);
    expect(result.explicitAcks).toHaveLength(1);
    // A database that fails: the training is retried (and its run marked failed on the last attempt).
    const failing = {
      prepare() {
        throw new Error("D1 is unavailable");
      },
      batch() {
        throw new Error("D1 is unavailable");
      },
    } as unknown as D1Database;
    const broken = await runLearningQueue([{ type: "train", user_id: "nobody", night: "x" }], 5, {
      DB: failing,
    });
    expect(broken.result.retryMessages).toHaveLength(1);
  });
});

describe("POST /models/retrain", () => {
  it("queues a training, refuses a second while queued (409), then limits to once an hour (429)", async () => {
    const user = await createUser();
    const { sent, queue } = capturingLearningQueue();
    const first = await callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(first.status).toBe(202);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: "train", user_id: user.id });

    const queued = await callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(queued.status).toBe(409);
    expect((await problemOf(queued)).code).toBe("training_queued");

    // The consumer runs it; asking again within the hour is too soon.
    await runLearningQueue(sent);
    const runs = await runsOf(user.id);
    expect(runs.map((r) => r.status)).toEqual(["skipped"]);
    const soon = await callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(soon.status).toBe(429);
    const retryAfter = Number(soon.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(sent).toHaveLength(1);
  });

  it("needs a credential", async () => {
    await callJson("/api/v1/models/retrain", 401, { method: "POST" });
  });
});
