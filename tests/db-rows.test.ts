import { env } from "cloudflare:workers";
import { desc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { allRows } from "../src/db/rows";
import { microSteps, tasks } from "../src/db/schema";
import { baseSelection, withSteps } from "../src/features/tasks/statements";
import { call, callJson, createUser } from "./helpers/api";
import { createTask } from "./helpers/tasks";

// allRows decodes `.values()` arrays itself; drizzle's own `.all()` is the reference it must match.
describe("allRows", () => {
  it("decodes a page of tasks exactly as drizzle's .all() does, steps, tags, nulls and all", async () => {
    const user = await createUser();
    const first = await createTask(user, {
      title: "Write the report",
      description: "with numbers",
      priority: "high",
      tags: ["work", "écrit"],
      due_at: new Date(Date.now() + 86_400_000).toISOString(),
      micro_steps: [{ description: "outline" }, { description: "draft", estimated_minutes: 4 }],
    });
    await createTask(user, { title: "Bare", is_meta_task: true });
    const blocked = await createTask(user, { title: "After the report", depends_on: [first.task_id] });
    await call(`/api/v1/tasks/${first.task_id}/steps/${first.micro_steps?.[0]?.step_id}/complete`, {
      method: "POST",
      token: user.token,
    });
    const db = createDatabase(env.DB);
    for (const selection of [withSteps, baseSelection]) {
      const query = () =>
        db.select(selection).from(tasks).where(eq(tasks.userId, user.id)).orderBy(desc(tasks.id));
      const reference = await query().all();
      const rows = await allRows(query(), selection);
      expect(rows).toHaveLength(3);
      expect(rows).toEqual(reference);
    }
    const rows = await allRows(
      db.select(baseSelection).from(tasks).where(eq(tasks.id, blocked.task_id)),
      baseSelection,
    );
    expect(rows[0]?.dependsOn).toContain(first.task_id);
    expect(rows[0]?.task.title).toBe("After the report");
    // And the list route, which reads through allRows, still shows the step done.
    const listed = await callJson<{ task_id: string; progress: { completed_steps: number } }[]>(
      "/api/v1/tasks?include=micro_steps",
      200,
      { token: user.token },
    );
    expect(listed.find((t) => t.task_id === first.task_id)?.progress.completed_steps).toBe(1);
  });

  it("follows nested objects, aliased expressions and mapWith decoders", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Nested", micro_steps: [{ description: "one" }] });
    const db = createDatabase(env.DB);
    const selection = {
      id: microSteps.id,
      owner: { title: tasks.title, done: sql<boolean>`0`.mapWith(Boolean) },
      doubled: sql<number>`${microSteps.estimatedMinutes} * 2`.mapWith(Number).as("doubled"),
    };
    const query = () =>
      db
        .select(selection)
        .from(microSteps)
        .innerJoin(tasks, eq(tasks.id, microSteps.taskId))
        .where(eq(tasks.id, task.task_id));
    const rows = await allRows(query(), selection);
    expect(rows).toEqual(await query().all());
    expect(rows[0]?.owner).toEqual({ title: "Nested", done: false });
    expect(rows[0]?.doubled).toBe(2 * (task.micro_steps?.[0]?.estimated_minutes ?? 0));
  });

  it("refuses a selection that is not the one the query selects", async () => {
    await createTask(await createUser(), { title: "Any" });
    const db = createDatabase(env.DB);
    await expect(allRows(db.select({ id: tasks.id }).from(tasks).limit(1), baseSelection)).rejects.toThrow(
      /columns, its selection has/,
    );
  });
});
