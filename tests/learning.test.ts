import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import type { LearningMessage } from "../src/features/learning/messages";
import { claimRun, nightOf, RUN_RETENTION_MS, RUNNING_STALE_MS } from "../src/features/learning/runs";
import { trainOwner } from "../src/features/learning/training";
import worker, { CRONS } from "../src/index";
import { cleanUpExpired, idAt, PREDICTION_LOG_RETENTION_MS } from "../src/jobs/housekeeping";
import { newId } from "../src/lib/ids";
import { callJson, callWith, createUser, problemOf } from "./helpers/api";
import {
  capturingLearningQueue,
  drainLearning,
  insertHistory,
  markActive,
  runLearningQueue,
  runNightlyCron,
  trainedDuring,
  trainNow,
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

const countOf = (owners: readonly string[], owner: string) => owners.filter((o) => o === owner).length;

/** Marks the run of `night` running, taken `ago` ms ago by the delivery holding `token`. */
const heldBy = (userId: string, night: string, token: string, ago: number) =>
  env.DB.prepare("UPDATE learning_runs SET status = 'running', detail = ? WHERE user_id = ? AND night = ?")
    .bind(JSON.stringify({ started_at: new Date(Date.now() - ago).toISOString(), token }), userId, night)
    .run();

/** A database whose first statement (prepared or batched) fails, and every later one runs. */
function failingFirst(): D1Database {
  let failed = false;
  const once = () => {
    if (failed) return;
    failed = true;
    throw new Error("D1 is unavailable");
  };
  return {
    prepare: (query: string) => {
      once();
      return env.DB.prepare(query);
    },
    batch: (statements: D1PreparedStatement[]) => {
      once();
      return env.DB.batch(statements);
    },
  } as unknown as D1Database;
}

/** Users marked active now, each with a run of `night` to claim (a fresh night: no other test's runs). */
async function activeUsers(n: number) {
  const users = [];
  for (let i = 0; i < n; i++) {
    const user = await createUser();
    await markActive(user.id);
    users.push(user.id);
  }
  return users;
}

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
    expect(first).toEqual([{ type: "page", night: nightOf(Date.now()), after: null }]);
    expect(second).toEqual(first);
    let handled: LearningMessage[] = [];
    const trained = await trainedDuring(async () => {
      handled = await drainLearning([...first, ...second]);
    });
    expect(countOf(trained, optimist.id)).toBe(1);
    expect(countOf(trained, quiet.id)).toBe(1);
    // Not active in the last 30 days: not trained.
    expect(trainsFor(handled, idle.id)).toHaveLength(0);
    expect(countOf(trained, idle.id)).toBe(0);
    // The population model: exactly one training (the second page found its run already taken).
    expect(countOf(trained, "*")).toBe(1);

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
    // One or two people are not a population: its run is skipped, nothing of theirs is exposed.
    const population = (await runsOf("*")).find((r) => r.night === nightOf(Date.now()));
    expect(population?.status).toBe("skipped");
    expect(population?.detail).toMatch(/fewer than 10 people contribute/);
  });

  it("pages through active users: each trained once, none skipped", async () => {
    const users = await activeUsers(5);
    const night = `test-pages-${crypto.randomUUID()}`;
    let handled: LearningMessage[] = [];
    const trained = await trainedDuring(async () => {
      handled = await drainLearning([{ type: "page", night, after: null }], { pageUsers: 2, sendBatch: 2 });
    });
    expect(handled.filter((m) => m.type === "page").length).toBeGreaterThanOrEqual(3);
    for (const id of users) expect(countOf(trained, id)).toBe(1);
    expect(new Set(trained).size).toBe(trained.length);
  });

  it("retries a page whose send failed part-way, and still trains everyone of it once", async () => {
    const users = await activeUsers(3);
    const night = `test-partial-${crypto.randomUUID()}`;
    const page: LearningMessage = { type: "page", night, after: null };
    // One message a send: the first send succeeds, the second throws.
    const failed = await runLearningQueue([page], 1, {}, { pageUsers: 500, sendBatch: 1, failOn: [2] });
    expect(failed.result.retryMessages).toHaveLength(1);
    expect(failed.sent).toHaveLength(1);
    // The retry enqueues every user of the page whose run is still queued, not only new claims.
    const retried = await runLearningQueue([page], 2, {}, { pageUsers: 500 });
    for (const id of users) expect(trainsFor(retried.sent, id)).toHaveLength(1);
    const trained = await trainedDuring(() => drainLearning([...failed.sent, ...retried.sent]));
    for (const id of users) {
      expect(countOf(trained, id)).toBe(1);
      expect((await runsOf(id)).find((r) => r.night === night)?.status).toBe("skipped");
    }
  });

  it("trains a redelivered message once, and one of two racing trainings", async () => {
    const user = await createUser();
    await insertHistory(
      user.id,
      generateHistory("optimist", { days: 60, now: Date.now(), seed: "redelivered" }),
    );
    const db = createDatabase(env.DB);
    const night = `test-redelivered-${crypto.randomUUID()}`;
    await claimRun(db, user.id, night, Date.now());
    const message: LearningMessage = { type: "train", user_id: user.id, night };
    const trained = await trainedDuring(async () => {
      await runLearningQueue([message]);
      await runLearningQueue([message], 2);
    });
    expect(trained).toEqual([user.id]);
    const before = await runsOf(user.id);
    expect(before[0]?.status).toBe("done");

    const racing = `test-racing-${crypto.randomUUID()}`;
    await claimRun(db, user.id, racing, Date.now());
    const outcomes = await Promise.all([trainOwner(db, user.id, racing), trainOwner(db, user.id, racing)]);
    expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
    const versions = (await modelsOf(user.id)).filter((m) => m.kind === "duration").map((m) => m.version);
    expect(versions).toEqual([1, 2]);
    const promoted = (await modelsOf(user.id)).filter((m) => m.promoted === 1).map((m) => m.kind);
    expect(new Set(promoted).size).toBe(promoted.length);
  });

  it("gives a failed training's run back for its retry, and marks it failed on the last attempt", async () => {
    const user = await createUser();
    const db = createDatabase(env.DB);
    const night = `test-failing-${crypto.randomUUID()}`;
    await claimRun(db, user.id, night, Date.now());
    const failing = {
      prepare() {
        throw new Error("D1 is unavailable");
      },
      batch() {
        throw new Error("D1 is unavailable");
      },
    } as unknown as D1Database;
    const message: LearningMessage = { type: "train", user_id: user.id, night };
    expect((await runLearningQueue([message], 1, { DB: failing })).result.retryMessages).toHaveLength(1);
    // The database came back: the retry takes the run (it was never left running).
    const trained = await trainedDuring(() => runLearningQueue([message], 2));
    expect(trained).toEqual([user.id]);
    expect((await runsOf(user.id)).find((r) => r.night === night)?.status).toBe("skipped");
  });

  it("keeps the promoted version when a new one is no better on the same held-out tasks", async () => {
    const user = await createUser();
    await insertHistory(user.id, generateHistory("optimist", { days: 90, now: Date.now(), seed: "again" }));
    await trainNow(user.id);
    // The same history again: the candidate ties the promoted version, and a tie is not better.
    const summary = await trainNow(user.id);
    expect(summary.kinds.duration).toMatchObject({ status: "trained", version: 2, promoted: false });
    expect(summary.kinds.duration?.reason).toMatch(/promoted version/);
    const duration = (await modelsOf(user.id)).filter((m) => m.kind === "duration");
    expect(duration.map((m) => [m.version, m.promoted])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    const second = JSON.parse(duration[1]?.metrics ?? "{}") as {
      current: number;
      value: number;
      current_scope: string;
    };
    expect(second.current).toBe(second.value);
    expect(second.current_scope).toBe("personal");
    // Exactly one promoted version per kind.
    const promoted = (await modelsOf(user.id)).filter((m) => m.promoted === 1).map((m) => m.kind);
    expect(new Set(promoted).size).toBe(promoted.length);
  });

  it("keeps the promoted version and the last 10 of each kind", async () => {
    const user = await createUser();
    await insertHistory(user.id, generateHistory("optimist", { days: 30, now: Date.now(), seed: "kept" }));
    for (let i = 0; i < 12; i++) await trainNow(user.id);
    const duration = (await modelsOf(user.id)).filter((m) => m.kind === "duration");
    expect(duration.map((m) => m.version)).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(duration[0]?.promoted).toBe(1);
  });

  it("comes back for a run left running by a consumer that died, and trains it once it is stale", async () => {
    const user = await createUser();
    const night = `test-stale-${crypto.randomUUID()}`;
    await claimRun(createDatabase(env.DB), user.id, night, Date.now());
    // A delivery took the run a minute ago and its isolate was killed: nothing released it.
    await heldBy(user.id, night, "killed", 60_000);
    const message: LearningMessage = { type: "train", user_id: user.id, night };
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => lines.push(String(args[0]));
    const early = await runLearningQueue([message], 2).finally(() => {
      console.log = original;
    });
    // Not acked (nothing else would come back for it): retried once the run would be stale (the
    // test queue does not record a retry's delay; the consumer logs it).
    expect(early.result.explicitAcks).toEqual([]);
    expect(early.result.retryMessages).toHaveLength(1);
    const held = lines.map((l) => JSON.parse(l) as { delay_seconds?: number }).find((l) => l.delay_seconds);
    const delay = held?.delay_seconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(RUNNING_STALE_MS / 1000 - 60);
    expect(delay).toBeLessThanOrEqual(RUNNING_STALE_MS / 1000 + 60);
    expect((await runsOf(user.id))[0]?.status).toBe("running");
    // When it comes back the run is stale: the retry takes it and trains.
    await heldBy(user.id, night, "killed", RUNNING_STALE_MS + 60_000);
    const trained = await trainedDuring(async () => {
      const late = await runLearningQueue([message], 3);
      expect(late.result.explicitAcks).toHaveLength(1);
    });
    expect(trained).toEqual([user.id]);
    expect((await runsOf(user.id))[0]?.status).toBe("skipped");
    // Finished: another copy of the message is acked, and trains nothing.
    const again = await runLearningQueue([message], 1);
    expect(again.result.explicitAcks).toHaveLength(1);
    expect(again.result.retryMessages).toEqual([]);
  });

  it("leaves a run another delivery holds or finished alone when its own attempt fails", async () => {
    const user = await createUser();
    const db = createDatabase(env.DB);
    const message = (night: string): LearningMessage => ({ type: "train", user_id: user.id, night });
    // A duplicate delivery fails taking the run while another delivery is training it.
    const held = `test-held-${crypto.randomUUID()}`;
    await claimRun(db, user.id, held, Date.now());
    await heldBy(user.id, held, "the other delivery", 1_000);
    const failed = await runLearningQueue([message(held)], 1, { DB: failingFirst() });
    expect(failed.result.retryMessages).toHaveLength(1);
    const [run] = (await runsOf(user.id)).filter((r) => r.night === held);
    expect(run?.status).toBe("running");
    expect(JSON.parse(run?.detail ?? "{}")).toMatchObject({ token: "the other delivery" });
    // A finished run is not marked failed by the last attempt of a copy of its message.
    const finished = `test-finished-${crypto.randomUUID()}`;
    await claimRun(db, user.id, finished, Date.now());
    await trainOwner(db, user.id, finished);
    const last = await runLearningQueue([message(finished)], 5, { DB: failingFirst() });
    expect(last.result.retryMessages).toHaveLength(1);
    expect((await runsOf(user.id)).find((r) => r.night === finished)?.status).toBe("skipped");
    // The run this delivery took is the one its last attempt marks failed.
    const own = `test-own-${crypto.randomUUID()}`;
    await claimRun(db, user.id, own, Date.now());
    const failing = {
      prepare: (query: string) => env.DB.prepare(query),
      // Taking the run is the first batch; the reads of the training are the second.
      batch: (() => {
        let calls = 0;
        return (statements: D1PreparedStatement[]) => {
          calls += 1;
          if (calls === 2) throw new Error("D1 is unavailable");
          return env.DB.batch(statements);
        };
      })(),
    } as unknown as D1Database;
    await runLearningQueue([message(own)], 5, { DB: failing });
    const [mine] = (await runsOf(user.id)).filter((r) => r.night === own);
    expect(mine?.status).toBe("failed");
    expect(mine?.detail).toMatch(/D1 is unavailable/);
  });

  it("keeps about 60 nights of a user's runs: the training that records a new one forgets older ones", async () => {
    const user = await createUser();
    const DAY = 86_400_000;
    const past = (days: number, status: string) =>
      env.DB.prepare(
        "INSERT INTO learning_runs (user_id, night, status, queued_at, finished_at) VALUES (?, ?, ?, ?, ?)",
      )
        .bind(
          user.id,
          nightOf(Date.now() - days * DAY),
          status,
          new Date(Date.now() - days * DAY).toISOString(),
          null,
        )
        .run();
    await past(RUN_RETENTION_MS / DAY + 1, "done");
    await past(RUN_RETENTION_MS / DAY + 2, "failed");
    await past(RUN_RETENTION_MS / DAY - 1, "skipped");
    const night = `test-prune-${crypto.randomUUID()}`;
    await trainNow(user.id, night);
    const nights = (await runsOf(user.id)).map((r) => r.night).sort();
    expect(nights).toEqual([nightOf(Date.now() - (RUN_RETENTION_MS / DAY - 1) * DAY), night].sort());
  });

  it("forgets logged predictions after 180 days (housekeeping)", async () => {
    const user = await createUser();
    const idOf = (ms: number) => `${idAt(ms)}7000-8000-000000000000`;
    const old = idOf(Date.now() - PREDICTION_LOG_RETENTION_MS - 86_400_000);
    const recent = idOf(Date.now() - 86_400_000);
    for (const id of [old, recent])
      await env.DB.prepare(
        "INSERT INTO prediction_log (id, user_id, kind, subject, model_id, predicted, created_at) VALUES (?, ?, 'duration', ?, 'prior', 25, ?)",
      )
        .bind(id, user.id, id, new Date().toISOString())
        .run();
    await cleanUpExpired(env);
    const left = await env.DB.prepare("SELECT id FROM prediction_log WHERE user_id = ?")
      .bind(user.id)
      .all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([recent]);
    // The bound sorts like the ids newId makes at that instant.
    expect(idAt(Date.now()) < newId(Date.now() + 1)).toBe(true);
    expect(idAt(Date.now() + 1000) > newId(Date.now())).toBe(true);
  });

  it("trains on a year of history in well under a second", async () => {
    const user = await createUser();
    const now = Date.now();
    const history = generateHistory("optimist", { now, seed: "a-year" });
    await insertHistory(user.id, history);
    const summary = await trainNow(user.id);
    // Training reads the last 365 days: the first generated day starts before that at most times of day.
    const since = now - 365 * 86_400_000;
    expect(summary.tasks).toBe(history.tasks.filter((t) => t.completedAt >= since).length);
    expect(summary.checkins).toBe(history.checkins.filter((c) => c.at >= since).length);
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

  it("logs a nightly cron that could not enqueue, instead of losing the error", async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      errors.push(String(args[0]));
    };
    try {
      const ctx = createExecutionContext();
      const { queue } = capturingLearningQueue([1]);
      await worker.scheduled(
        createScheduledController({ cron: CRONS.nightly, scheduledTime: Date.now() }),
        { ...env, LEARNING_QUEUE: queue },
        ctx,
      );
      await waitOnExecutionContext(ctx);
    } finally {
      console.error = original;
    }
    expect(errors.some((e) => e.includes("nightly training not scheduled"))).toBe(true);
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
    const wait = Number(queued.headers.get("retry-after"));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);

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

  it("answers 503 when the queue refuses, and a failed training does not count toward the hour", async () => {
    const user = await createUser();
    const down = capturingLearningQueue([1]);
    const refused = await callWith({ LEARNING_QUEUE: down.queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(refused.status).toBe(503);
    expect((await problemOf(refused)).code).toBe("training_not_queued");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await runsOf(user.id)).toEqual([]);

    const { sent, queue } = capturingLearningQueue();
    const queued = await callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(queued.status).toBe(202);
    expect(sent).toHaveLength(1);
    // Its training failed on every attempt (the consumer marks it so): the user may ask again.
    await env.DB.prepare("UPDATE learning_runs SET status = 'failed' WHERE user_id = ?").bind(user.id).run();
    const again = await callWith({ LEARNING_QUEUE: queue }, "/api/v1/models/retrain", {
      method: "POST",
      token: user.token,
    });
    expect(again.status).toBe(202);
  });

  it("needs a credential", async () => {
    await callJson("/api/v1/models/retrain", 401, { method: "POST" });
  });
});
