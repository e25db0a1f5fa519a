import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { LearningMessage } from "../../src/features/learning/messages";
import worker, { CRONS, QUEUE_NAMES } from "../../src/index";
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

/**
 * Writes a history straight into D1 for volume (a year is ~1,500 tasks): finished tasks with their
 * actual minutes, the difficulty and energy they were split with, and energy check-ins.
 */
export async function insertHistory(userId: string, history: SyntheticHistory): Promise<void> {
  const prefix = crypto.randomUUID().slice(0, 8);
  const tasks = history.tasks.map((t) => ({
    id: `${prefix}-${t.id}`,
    title: t.title,
    priority: t.priority,
    category: t.category,
    estimate: t.estimate,
    actual: t.actual,
    completed: new Date(t.completedAt).toISOString(),
    created: new Date(t.startedAt - 3_600_000).toISOString(),
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

/** A queue that keeps what it is sent. */
export function capturingLearningQueue() {
  const sent: LearningMessage[] = [];
  const queue = {
    async send(body: LearningMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: LearningMessage }>) {
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

/** Runs the learning consumer on these messages; answers what it enqueued and its acks/retries. */
export async function runLearningQueue(
  messages: readonly LearningMessage[],
  attempts = 1,
  bindings: Partial<typeof env> = {},
) {
  deliveries += 1;
  const { sent, queue } = capturingLearningQueue();
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.learning,
    messages.map((body, i) => ({ id: `learn-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, LEARNING_QUEUE: queue, ...bindings });
  return { sent, result: await getQueueResult(batch, ctx) };
}

/** Runs messages and everything they enqueue until nothing is left; answers every message handled. */
export async function drainLearning(messages: readonly LearningMessage[]): Promise<LearningMessage[]> {
  const handled: LearningMessage[] = [];
  let pending = [...messages];
  for (let round = 0; round < 20 && pending.length > 0; round++) {
    handled.push(...pending);
    const next: LearningMessage[] = [];
    for (let i = 0; i < pending.length; i += 4)
      next.push(...(await runLearningQueue(pending.slice(i, i + 4))).sent);
    pending = next;
  }
  return handled;
}
