import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDatabase } from "../../src/db";
import type { LearningMessage } from "../../src/features/learning/messages";
import { claimRun } from "../../src/features/learning/runs";
import { type TrainingSummary, trainOwner } from "../../src/features/learning/training";
import worker, { CRONS, QUEUE_NAMES } from "../../src/index";
import { consumeLearning, type LearningOptions } from "../../src/jobs/learning-consumer";
import { localParts } from "../../src/lib/time";
import type { SyntheticHistory } from "./learning-history";

const ROWS_PER_STATEMENT = 200;

async function insertJson(sqlText: string, rows: unknown[]) {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await env.DB.prepare(sqlText)
      .bind(JSON.stringify(rows.slice(i, i + ROWS_PER_STATEMENT)))
      .run();
  }
}

/** Histories written by this test file so far (module state is per file). */
let histories = 0;

/**
 * Writes a history straight into D1 for volume (a year is ~1,500 tasks): finished tasks with their
 * actual minutes, the difficulty and energy they were split with, and energy check-ins.
 */
export async function insertHistory(
  userId: string,
  history: SyntheticHistory,
  /**
   * Ids' prefix. Never random: the held-out split is a hash of the id, so random ids would let which
   * model wins change from run to run. By default the histories of a file are numbered in order.
   */
  prefix = `h${++histories}`,
): Promise<void> {
  const tasks = history.tasks.map((t) => ({
    id: `${prefix}-${t.id}`,
    title: t.title,
    priority: t.priority,
    category: t.category,
    estimate: t.estimate,
    actual: t.actual,
    completed: new Date(t.completedAt).toISOString(),
    // Added when the work began: the start the models read for a task without focus sessions.
    created: new Date(t.startedAt).toISOString(),
  }));
  await insertJson(
    `INSERT INTO tasks (id, user_id, title, status, priority, category, estimated_minutes, actual_minutes, completed_at, created_at, updated_at)
     SELECT json_extract(value, '$.id'), '${userId}', json_extract(value, '$.title'), 'completed', json_extract(value, '$.priority'),
       json_extract(value, '$.category'), json_extract(value, '$.estimate'), json_extract(value, '$.actual'),
       json_extract(value, '$.completed'), json_extract(value, '$.created'), json_extract(value, '$.completed')
     FROM json_each(?1)`,
    tasks,
  );
  const splits = history.tasks
    .filter((t) => t.difficulty !== null)
    .map((t) => ({
      id: `${prefix}-s-${t.id}`,
      task: `${prefix}-${t.id}`,
      category: t.category,
      energy: t.energy,
      difficulty: t.difficulty,
      at: new Date(t.startedAt - 60_000).toISOString(),
    }));
  await insertJson(
    `INSERT INTO task_splits (id, user_id, task_id, method, scope, category, applied, energy, difficulty, result, created_at)
     SELECT json_extract(value, '$.id'), '${userId}', json_extract(value, '$.task'), 'local', 'MULTI', json_extract(value, '$.category'), 1,
       json_extract(value, '$.energy'), json_extract(value, '$.difficulty'), '{}', json_extract(value, '$.at')
     FROM json_each(?1)`,
    splits,
  );
  await insertJson(
    `INSERT INTO energy_checkins (id, user_id, level, at, created_at)
     SELECT json_extract(value, '$.id'), '${userId}', json_extract(value, '$.level'), json_extract(value, '$.at'), json_extract(value, '$.at')
     FROM json_each(?1)`,
    history.checkins.map((c) => ({
      id: `${prefix}-${c.id}`,
      level: c.level,
      at: new Date(c.at).toISOString(),
    })),
  );
}

/** Marks the user active today in the rollups (what the analytics handler writes on any event). */
export async function markActive(userId: string, daysAgo = 0): Promise<void> {
  const day = localParts("UTC", Date.now() - daysAgo * 86_400_000).date;
  await env.DB.prepare(
    "INSERT OR IGNORE INTO analytics_rollups (user_id, day, dim, key, tasks_completed, updated_at) VALUES (?, ?, 'all', '', 1, ?)",
  )
    .bind(userId, day, new Date().toISOString())
    .run();
}

/** Claims a run of `night` for the owner and trains it now (what a train message does). */
export async function trainNow(
  owner: string,
  night = `test-${crypto.randomUUID()}`,
): Promise<TrainingSummary> {
  const db = createDatabase(env.DB);
  await claimRun(db, owner, night, Date.now());
  const summary = await trainOwner(db, owner, night);
  if (!summary) throw new Error(`the run ${night} of ${owner} was not there to take`);
  return summary;
}

/** A queue that keeps what it is sent; `failOn` lists the send calls (1-based) that throw instead. */
export function capturingLearningQueue(failOn: readonly number[] = []) {
  const sent: LearningMessage[] = [];
  let calls = 0;
  const fail = () => {
    calls += 1;
    if (failOn.includes(calls)) throw new Error("the queue is unavailable");
  };
  const queue = {
    async send(body: LearningMessage) {
      fail();
      sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: LearningMessage }>) {
      fail();
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue<LearningMessage>;
  return { sent, queue };
}

/** Runs the nightly cron through the Worker's scheduled handler; answers what it enqueued. */
export async function runNightlyCron(now = Date.now()): Promise<LearningMessage[]> {
  const { sent, queue } = capturingLearningQueue();
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: CRONS.nightly, scheduledTime: now }),
    { ...env, LEARNING_QUEUE: queue },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return sent;
}

let deliveries = 0;

/**
 * Runs the learning consumer on these messages (through the Worker's queue handler, or directly when
 * `options` sizes its pages and sends); answers what it enqueued and its acks/retries.
 */
export async function runLearningQueue(
  messages: readonly LearningMessage[],
  attempts = 1,
  bindings: Partial<typeof env> = {},
  options?: LearningOptions & { failOn?: readonly number[] },
) {
  deliveries += 1;
  const { sent, queue } = capturingLearningQueue(options?.failOn);
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.learning,
    messages.map((body, i) => ({ id: `learn-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  const bound = { ...env, LEARNING_QUEUE: queue, ...bindings };
  if (options) await consumeLearning(batch, bound, options);
  else await worker.queue(batch, bound);
  return { sent, result: await getQueueResult(batch, ctx) };
}

/** Runs messages and everything they enqueue until nothing is left; answers every message handled. */
export async function drainLearning(
  messages: readonly LearningMessage[],
  options?: LearningOptions,
): Promise<LearningMessage[]> {
  const handled: LearningMessage[] = [];
  let pending = [...messages];
  for (let round = 0; round < 50 && pending.length > 0; round++) {
    handled.push(...pending);
    const next: LearningMessage[] = [];
    for (let i = 0; i < pending.length; i += 4)
      next.push(...(await runLearningQueue(pending.slice(i, i + 4), 1, {}, options)).sent);
    pending = next;
  }
  return handled;
}

/** The owners the consumer trained while `fn` ran (its "trained" log lines), in order. */
export async function trainedDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const owners: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    const line = String(args[0]);
    if (line.includes('"message":"trained"')) owners.push((JSON.parse(line) as { user_id: string }).user_id);
    else original(...args);
  };
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return owners;
}
