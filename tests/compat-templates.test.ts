import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createUser, problemOf } from "./helpers/api";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { type Split, splitTask } from "./helpers/splitting";
import { createTask, type Task } from "./helpers/tasks";
import type { Template } from "./helpers/templates";

/** The original's Homework template, as its tests send it: steps of 15 and 25 minutes, given out of order. */
const HOMEWORK = {
  name: "Homework Assignment",
  description: "Break down a homework assignment",
  category: "Academic",
  icon: "📚",
  estimated_minutes: 60,
  created_by: "user_123",
  is_public: false,
  steps: [
    {
      step_order: 2,
      description: "Work through the problems",
      short_label: "Solve",
      estimated_minutes: 25,
      leaf_type: "HUMAN",
      icon: "✏️",
    },
    {
      step_order: 1,
      description: "Read the assignment instructions",
      short_label: "Read",
      estimated_minutes: 15,
      leaf_type: "HUMAN",
      icon: "📖",
    },
    {
      step_order: 3,
      description: "Submit it online",
      short_label: "Submit",
      estimated_minutes: 5,
      leaf_type: "DIGITAL",
      icon: "📤",
    },
  ],
};

describe("task templates, as the original clients call them (call #21)", () => {
  it("creates the Homework template: steps in step_order, with step ids, the template's id and their order", async () => {
    const user = await createUser();
    const created = await legacyJson<Template>("/task-templates/", 201, {
      method: "POST",
      token: user.token,
      body: HOMEWORK,
    });
    expect(created).toMatchObject({ name: "Homework Assignment", category: "Academic", icon: "📚" });
    expect(created.created_at).toMatch(/Z$/);
    expect(created.updated_at).toMatch(/Z$/);
    expect(created.total_estimated_minutes).toBe(45); // the steps' sum; the sent 60 is ignored
    expect(created.steps.map((s) => [s.step_order, s.description, s.estimated_minutes])).toEqual([
      [1, "Read the assignment instructions", 15],
      [2, "Work through the problems", 25],
      [3, "Submit it online", 5],
    ]);
    for (const step of created.steps) {
      expect(step.template_id).toBe(created.template_id);
      expect(step.step_id).toEqual(expect.any(String));
    }
    const rows = await env.DB.prepare(
      "SELECT id, position, estimated_minutes FROM template_steps WHERE template_id = (SELECT id FROM task_templates WHERE user_id = ? AND client_id = ?) ORDER BY position",
    )
      .bind(user.id, created.template_id)
      .all<{ id: string; position: number; estimated_minutes: number }>();
    expect(rows.results.map((r) => [r.id, r.position, r.estimated_minutes])).toEqual(
      created.steps.map((s) => [s.step_id, s.step_order, s.estimated_minutes]),
    );

    const read = await legacyJson<Template>(`/task-templates/${created.template_id}`, 200, {
      token: user.token,
    });
    expect(read).toEqual(created);
    const listed = await legacyJson<Template[]>("/task-templates/?category=academic", 200, {
      token: user.token,
    });
    expect(listed.find((t) => t.template_id === created.template_id)?.steps).toEqual(created.steps);
    const missing = await legacyCall("/task-templates/no_such_template", { token: user.token });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).detail).toBe("Template was not found.");
    expect((await legacyCall("/task-templates/", { method: "POST", body: HOMEWORK })).status).toBe(401);
  });

  it("answers 422 naming the field for no steps, 11 steps, step_order 0 or twice, 61 minutes, a bad category", async () => {
    const user = await createUser();
    const step = (i: number) => ({ step_order: i, description: `Step ${i}`, estimated_minutes: 5 });
    const cases: [Record<string, unknown>, string[]][] = [
      [{ steps: [] }, ["steps"]],
      [{ steps: Array.from({ length: 11 }, (_, i) => step(i + 1)) }, ["steps"]],
      [{ steps: [step(0)] }, ["steps.0.step_order"]],
      [{ steps: [step(1), step(1)] }, ["steps.1.step_order"]],
      [{ steps: [step(1), { description: "No order", estimated_minutes: 5 }] }, ["steps.1.step_order"]],
      [{ steps: [{ ...step(1), estimated_minutes: 61 }] }, ["steps.0.estimated_minutes"]],
      [{ category: "Hobby" }, ["category"]],
    ];
    for (const [override, fields] of cases) {
      const res = await legacyCall("/task-templates/", {
        method: "POST",
        token: user.token,
        body: { ...HOMEWORK, ...override },
      });
      expect(res.status, JSON.stringify(override)).toBe(422);
      expect(
        (await problemOf(res)).errors?.map((e) => e.field),
        JSON.stringify(override),
      ).toEqual(fields);
    }
    const count = await env.DB.prepare("SELECT count(*) AS n FROM task_templates WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("applied, a step over 10 minutes becomes parts of at most 10 (25 → 9, 8, 8), label and icon on the first", async () => {
    const user = await createUser();
    const template = await legacyJson<Template>("/task-templates/", 201, {
      method: "POST",
      token: user.token,
      body: HOMEWORK,
    });
    const task = await legacyJson<Task>(`/task-templates/${template.template_id}/apply`, 201, {
      method: "POST",
      token: user.token,
      body: {},
    });
    expect(task.micro_steps?.map((s) => [s.description, s.estimated_minutes, s.short_label, s.icon])).toEqual(
      [
        ["Read the assignment instructions (part 1 of 2)", 8, "Read", "📖"],
        ["Read the assignment instructions (part 2 of 2)", 7, null, null],
        ["Work through the problems (part 1 of 3)", 9, "Solve", "✏️"],
        ["Work through the problems (part 2 of 3)", 8, null, null],
        ["Work through the problems (part 3 of 3)", 8, null, null],
        ["Submit it online", 5, "Submit", "📤"],
      ],
    );
    expect(task.micro_steps?.map((s) => s.step_order)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a task named like the template is split by its steps, in parts (the splitter's template plan)", async () => {
    const user = await createUser();
    await legacyJson<Template>("/task-templates/", 201, {
      method: "POST",
      token: user.token,
      body: { ...HOMEWORK, steps: HOMEWORK.steps.slice(0, 2) },
    });
    const task = await createTask(user, { title: "homework assignment" });
    const split: Split = await splitTask(user, task.task_id, { splitter: "local" });
    expect(split.split_method).toBe("template");
    expect(split.suggested_steps.map((s) => s.estimated_minutes)).toEqual([8, 7, 9, 8, 8]);
    expect(split.suggested_steps.map((s) => s.step_order)).toEqual([1, 2, 3, 4, 5]);
    expect(split.total_estimated_minutes).toBe(40);
  });
});
