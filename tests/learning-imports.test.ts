/**
 * What a training learns from when the account imported a file of finished work from another app: the
 * work done here, not the file. An imported task finished here, with minutes, still counts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { finishedTasksQuery, MAX_HISTORY_ROWS } from "../src/features/learning/history";
import { createUser } from "./helpers/api";

const DAY = 86_400_000;

/** `n` finished tasks written straight into D1, completed one second apart from `completedAt` back. */
async function insertFinished(
  userId: string,
  n: number,
  options: { prefix: string; source: "user" | "import"; actual: number | null; completedAt: number },
) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
     INSERT INTO tasks (id, user_id, title, status, priority, task_source, estimated_minutes, actual_minutes,
       completed_at, created_at, updated_at)
     SELECT ?2 || '-' || i, ?3, 'Task ' || i, 'completed', 'medium', ?4, 30, ?5,
       strftime('%Y-%m-%dT%H:%M:%fZ', (?6 - i * 1000) / 1000.0, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', (?6 - i * 1000 - 3600000) / 1000.0, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', (?6 - i * 1000) / 1000.0, 'unixepoch')
     FROM n`,
  )
    .bind(n, options.prefix, userId, options.source, options.actual, options.completedAt)
    .run();
}

describe("the history a training reads", () => {
  it("is the work done here, not a file of finished tasks imported from another app", async () => {
    const user = await createUser();
    const now = Date.now();
    await insertFinished(user.id, 40, {
      prefix: "own",
      source: "user",
      actual: 35,
      completedAt: now - 30 * DAY,
    });
    // A whole window's worth of finished work imported since (more recent, and without minutes)…
    await insertFinished(user.id, MAX_HISTORY_ROWS, {
      prefix: "imported",
      source: "import",
      actual: null,
      completedAt: now - DAY,
    });
    // …and one imported task finished here, timed.
    await insertFinished(user.id, 1, {
      prefix: "imported-timed",
      source: "import",
      actual: 20,
      completedAt: now - 2 * DAY,
    });

    const rows = await finishedTasksQuery(createDatabase(env.DB), { userId: user.id }, now);
    const prefixes = rows.map((r) => r.id.replace(/-\d+$/, ""));
    expect(prefixes.filter((p) => p === "own")).toHaveLength(40);
    expect(prefixes).toContain("imported-timed");
    expect(prefixes).not.toContain("imported");
    expect(rows).toHaveLength(41);
  });
});
