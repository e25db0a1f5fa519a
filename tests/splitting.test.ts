import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PreferenceDto } from "../src/features/splitting/schemas";
import { call, callJson, createUser } from "./helpers/api";
import { registerAgent } from "./helpers/delegation";
import { rateStep, type Split, splitStep, splitTask } from "./helpers/splitting";
import { completeStep, completeTask, createTask, getTask, type Task } from "./helpers/tasks";
import type { Template } from "./helpers/templates";

function aiBinding(): Ai {
  const ai = env.AI;
  if (!ai) throw new Error("the AI binding is missing");
  return ai;
}

afterEach(() => {
  vi.restoreAllMocks();
});

const LEADING_NON_VERBS = /^(?:the|a|an|your|my|step|part|task|\d)\b/i;

function expectUsefulSteps(steps: Split["suggested_steps"]) {
  for (const [i, step] of steps.entries()) {
    expect(step.step_order).toBe(i + 1);
    expect(step.estimated_minutes).toBeGreaterThanOrEqual(1);
    expect(step.estimated_minutes).toBeLessThanOrEqual(10);
    expect(step.description).not.toMatch(LEADING_NON_VERBS);
    expect(step.short_label.length).toBeGreaterThan(0);
  }
}

describe("splitting a task (BE-05)", () => {
  it("suggests 3–7 micro-steps for a MULTI task without changing the task", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Clean the bathroom",
      micro_steps: [{ description: "Old step" }],
    });
    const split = await splitTask(user, task.task_id, {
      energy_level: "medium",
      difficulty: 3,
      splitter: "local",
    });
    expect(split).toMatchObject({
      task_id: task.task_id,
      step_id: null,
      split_method: "local",
      scope: "MULTI",
      energy_level: "medium",
      difficulty: 3,
      category: "Personal",
      applied: false,
      task: null,
    });
    expect(split.suggested_steps.length).toBeGreaterThanOrEqual(3);
    expect(split.suggested_steps.length).toBeLessThanOrEqual(7);
    expectUsefulSteps(split.suggested_steps);
    expect(split.total_estimated_minutes).toBe(
      split.suggested_steps.reduce((t, s) => t + s.estimated_minutes, 0),
    );
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => s.description)).toEqual(["Old step"]);
    const stored = await env.DB.prepare(
      "SELECT method, scope, applied, category FROM task_splits WHERE id = ?",
    )
      .bind(split.split_id)
      .first();
    expect(stored).toEqual({ method: "local", scope: "MULTI", applied: 0, category: "Personal" });
  });

  it("scores scope from the estimate: SIMPLE under 15 minutes, MULTI up to 120, PROJECT above", async () => {
    const user = await createUser();
    const scopes: string[] = [];
    for (const minutes of [10, 14, 15, 120, 121]) {
      const task = await createTask(user, { title: "Write the newsletter", estimated_minutes: minutes });
      scopes.push((await splitTask(user, task.task_id, { splitter: "local" })).scope);
    }
    expect(scopes).toEqual(["SIMPLE", "SIMPLE", "MULTI", "MULTI", "PROJECT"]);
  });

  it("makes finer steps for low energy and a spicy task than for high energy and a mild one", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Write the quarterly report", estimated_minutes: 40 });
    const gentle = await splitTask(user, task.task_id, {
      energy_level: "low",
      difficulty: 5,
      splitter: "local",
    });
    const bold = await splitTask(user, task.task_id, {
      energy_level: "HIGH",
      difficulty: 1,
      splitter: "local",
    });
    const longest = (s: Split) => Math.max(...s.suggested_steps.map((x) => x.estimated_minutes));
    expect(longest(gentle)).toBeLessThanOrEqual(3);
    expect(longest(bold)).toBeGreaterThan(longest(gentle));
    expect(bold.energy_level).toBe("high");
  });

  it("honours a preferred step count and answers the same on both paths", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reply to Dana about the contract" });
    const seed = await splitTask(user, task.task_id, { preferred_step_count: 6, splitter: "local" });
    const nested = await splitTask(
      user,
      task.task_id,
      { preferred_step_count: 6, splitter: "local" },
      { path: "nested" },
    );
    expect(seed.suggested_steps).toHaveLength(6);
    expect(nested.suggested_steps).toEqual(seed.suggested_steps);
    expect(nested.split_id).not.toBe(seed.split_id);
    expect(seed.suggested_steps[0]?.description).toContain("Dana");
  });

  it("applies: pending steps are replaced, completed ones stay, the task gets a category", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Do the laundry",
      micro_steps: [{ description: "Done already" }, { description: "Pending one" }],
    });
    const done = task.micro_steps?.[0]?.step_id ?? "";
    await completeStep(user, task.task_id, done);
    const split = await splitTask(user, task.task_id, { apply: true, splitter: "local" });
    expect(split.applied).toBe(true);
    const after = await getTask(user, task.task_id);
    expect(split.task).toMatchObject({ task_id: task.task_id, category: "Personal" });
    expect(split.task?.micro_steps).toEqual(after.micro_steps);
    expect(after.micro_steps?.[0]).toMatchObject({ step_id: done, status: "completed", position: 1 });
    expect(after.micro_steps?.slice(1).map((s) => s.description)).toEqual(
      split.suggested_steps.map((s) => s.description),
    );
    expect(after.micro_steps?.slice(1).map((s) => s.position)).toEqual(
      split.suggested_steps.map((_, i) => i + 2),
    );
    expect(after.micro_steps?.some((s) => s.description === "Pending one")).toBe(false);
    expect(after).toMatchObject({ category: "Personal", estimated_minutes: split.task_estimated_minutes });
    expect(split.task_estimated_minutes).toBeGreaterThanOrEqual(split.total_estimated_minutes);
  });

  it("appends instead of replacing when asked, keeping the steps the user wrote", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Do the laundry",
      micro_steps: [{ description: "My own step" }],
    });
    const split = await splitTask(user, task.task_id, { apply: true, mode: "append", splitter: "local" });
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => s.description)).toEqual([
      "My own step",
      ...split.suggested_steps.map((s) => s.description),
    ]);
    expect(after.micro_steps?.map((s) => s.position)).toEqual(after.micro_steps?.map((_, i) => i + 1));
  });

  it("splits a PROJECT into sub-tasks, each with its own steps, in order", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "File my taxes", priority: "high", tags: ["money"] });
    const split = await splitTask(user, task.task_id, { apply: true, splitter: "local" });
    expect(split.scope).toBe("PROJECT");
    expect(split.subtasks.length).toBeGreaterThanOrEqual(2);
    expect(split.suggested_steps).toEqual(split.subtasks[0]?.suggested_steps);
    const ids = split.subtasks.map((s) => s.task_id ?? "");
    const children = await Promise.all(ids.map((id) => getTask(user, id)));
    for (const [i, child] of children.entries()) {
      const plan = split.subtasks[i];
      expect(child).toMatchObject({
        title: plan?.title,
        parent_task_id: task.task_id,
        category: "Personal",
        priority: "high",
        tags: ["money"],
        depends_on: i === 0 ? [] : [ids[i - 1]],
      });
      expect(child.micro_steps?.map((s) => s.description)).toEqual(
        plan?.suggested_steps.map((s) => s.description),
      );
      expectUsefulSteps(plan?.suggested_steps ?? []);
    }
    const listed = await callJson<Task[]>(`/api/v1/tasks?parent_task_id=${task.task_id}`, 200, {
      token: user.token,
    });
    expect(listed.map((t) => t.task_id).sort()).toEqual([...ids].sort());
    const events = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE user_id = ? AND type = 'task.created' AND json_extract(data, '$.parent_task_id') = ?",
    )
      .bind(user.id, task.task_id)
      .first<{ n: number }>();
    expect(events?.n).toBe(ids.length);
    const again = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: user.token,
      body: { apply: true, splitter: "local" },
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "already_split" });
    const made = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE parent_task_id = ?")
      .bind(task.task_id)
      .first<{ n: number }>();
    expect(made?.n).toBe(ids.length);
  });

  it("uses a template named like the task (the user's own before the platform's), unless a count is asked", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "  clean the KITCHEN " });
    const platform = await splitTask(user, task.task_id);
    expect(platform).toMatchObject({ split_method: "template", category: "Personal" });
    const defaults = await callJson<Template>("/api/v1/templates/tpl_clean_the_kitchen", 200, {
      token: user.token,
    });
    expect(platform.suggested_steps.map((s) => s.description)).toEqual(
      defaults.steps.map((s) => s.description),
    );
    await callJson("/api/v1/templates", 201, {
      token: user.token,
      body: {
        name: "Clean the kitchen",
        category: "Health",
        steps: [{ description: "Wipe the hob" }, { description: "Mop" }, { description: "Empty the bin" }],
      },
    });
    const mine = await splitTask(user, task.task_id, { apply: true });
    expect(mine).toMatchObject({ split_method: "template", category: "Health" });
    expect(mine.task?.micro_steps?.map((s) => s.description)).toEqual([
      "Wipe the hob",
      "Mop",
      "Empty the bin",
    ]);
    const counted = await splitTask(user, task.task_id, { preferred_step_count: 4, splitter: "local" });
    expect(counted.split_method).toBe("local");
    const stranger = await createUser();
    const theirs = await createTask(stranger, { title: "Clean the kitchen" });
    expect((await splitTask(stranger, theirs.task_id)).category).toBe("Personal");
  });

  it("applies a template's steps to a long task (a template gives steps, never sub-tasks)", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the kitchen", estimated_minutes: 300 });
    const split = await splitTask(user, task.task_id, { apply: true });
    expect(split).toMatchObject({ split_method: "template", scope: "MULTI", subtasks: [] });
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => s.description)).toEqual(
      split.suggested_steps.map((s) => s.description),
    );
  });

  it("will not apply to a completed task (409), but still suggests", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Pay the electricity bill" });
    await completeTask(user, task.task_id);
    const res = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: user.token,
      body: { apply: true },
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "task_closed" });
    expect((await splitTask(user, task.task_id, { splitter: "local" })).applied).toBe(false);
  });

  it("rejects bad input with 422 and others' tasks with 404", async () => {
    const user = await createUser();
    const other = await createUser();
    const task = await createTask(user, { title: "Study chapter 4" });
    for (const body of [
      { energy_level: "sleepy" },
      { difficulty: 0 },
      { difficulty: 6 },
      { preferred_step_count: 1 },
      { preferred_step_count: 11 },
      { category: "Chores" },
      { apply: "yes" },
    ]) {
      const res = await call(`/api/v1/tasks/split/${task.task_id}`, {
        method: "POST",
        token: user.token,
        body,
      });
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const theirs = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: other.token,
      body: {},
    });
    const missing = await call("/api/v1/tasks/split/no-such-task", {
      method: "POST",
      token: other.token,
      body: {},
    });
    expect(theirs.status).toBe(404);
    const pick = ({ code, detail, status }: { code: string; detail: string; status: number }) => ({
      code,
      detail,
      status,
    });
    expect(pick(await theirs.json())).toEqual(pick(await missing.json()));
  });

  it("replays an applied split for the same Idempotency-Key instead of applying twice", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the bathroom" });
    const headers = { "Idempotency-Key": `split-${crypto.randomUUID()}` };
    const first = await splitTask(user, task.task_id, { apply: true, splitter: "local" }, { headers });
    const res = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: user.token,
      body: { apply: true, splitter: "local" },
      headers,
    });
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect(((await res.json()) as Split).split_id).toBe(first.split_id);
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps).toHaveLength(first.suggested_steps.length);
  });
});

describe("splitting one step again", () => {
  it("replaces a pending step in place with 2–5 smaller steps", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Write the report",
      micro_steps: [
        { description: "Open the document", estimated_minutes: 1 },
        { description: "Write the first section without editing", estimated_minutes: 8 },
        { description: "Send it", estimated_minutes: 2 },
      ],
    });
    const [first, middle, last] = task.micro_steps ?? [];
    const split = await splitStep(user, task.task_id, middle?.step_id ?? "", {
      apply: true,
      splitter: "local",
    });
    expect(split).toMatchObject({ step_id: middle?.step_id, split_method: "pattern", applied: true });
    expect(split.suggested_steps.length).toBeGreaterThanOrEqual(2);
    expect(split.suggested_steps.length).toBeLessThanOrEqual(5);
    expectUsefulSteps(split.suggested_steps);
    expect(split.suggested_steps.some((s) => s.description.toLowerCase().includes("first section"))).toBe(
      true,
    );
    const after = await getTask(user, task.task_id);
    const n = split.suggested_steps.length;
    expect(after.micro_steps?.map((s) => s.description)).toEqual([
      first?.description,
      ...split.suggested_steps.map((s) => s.description),
      last?.description,
    ]);
    expect(after.micro_steps?.map((s) => s.position)).toEqual(Array.from({ length: n + 2 }, (_, i) => i + 1));
    expect(after.micro_steps?.some((s) => s.step_id === middle?.step_id)).toBe(false);
    expect(split.task?.micro_steps).toEqual(after.micro_steps);
    // A step's split says nothing about the whole task's length: its estimate stays unset.
    expect(after).toMatchObject({ estimated_minutes: null, category: "Work" });
    expect(split.task).toMatchObject({ estimated_minutes: null, category: "Work" });
  });

  it("answers 404 for a step of another task and 409 for a completed step", async () => {
    const user = await createUser();
    const a = await createTask(user, {
      title: "A",
      micro_steps: [{ description: "One" }, { description: "Two" }],
    });
    const b = await createTask(user, { title: "B", micro_steps: [{ description: "Three" }] });
    const foreign = await call(`/api/v1/tasks/${a.task_id}/steps/${b.micro_steps?.[0]?.step_id}/split`, {
      method: "POST",
      token: user.token,
      body: {},
    });
    expect(foreign.status).toBe(404);
    const step = a.micro_steps?.[0]?.step_id ?? "";
    await completeStep(user, a.task_id, step);
    const closed = await call(`/api/v1/tasks/${a.task_id}/steps/${step}/split`, {
      method: "POST",
      token: user.token,
      body: { apply: true },
    });
    expect(closed.status).toBe(409);
  });
});

describe("the AI splitter behind the same interface", () => {
  const good = {
    reasoning: "Short email, so three small moves.",
    steps: [
      {
        description: "Open the thread with Dana",
        estimated_minutes: 1,
        leaf_type: "DIGITAL",
        reasoning: "Start",
        confidence: 0.9,
      },
      {
        description: "Write two sentences answering the contract question",
        estimated_minutes: 4,
        leaf_type: "digital",
      },
      { description: "Send the reply and archive the thread", estimated_minutes: 2, leaf_type: "DIGITAL" },
    ],
  };

  it("uses Workers AI when it answers good JSON, telling it energy, difficulty and category", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reply to Dana about the contract" });
    const run = vi.spyOn(aiBinding(), "run").mockResolvedValue({ response: good } as never);
    const split = await splitTask(user, task.task_id, {
      energy_level: "low",
      difficulty: 4,
      category: "work",
    });
    expect(run).toHaveBeenCalledTimes(1);
    const prompt = JSON.stringify(run.mock.calls[0]?.[1]);
    expect(prompt).toContain("low");
    expect(prompt).toContain("4/5");
    expect(prompt).toContain("Work");
    expect(split.split_method).toBe("ai");
    expect(split.suggested_steps.map((s) => [s.description, s.leaf_type])).toEqual([
      ["Open the thread with Dana", "DIGITAL"],
      ["Write two sentences answering the contract question", "DIGITAL"],
      ["Send the reply and archive the thread", "DIGITAL"],
    ]);
  });

  it("repairs out-of-range values, and falls back to local for invalid JSON (after one retry)", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reply to Dana about the contract" });
    const wild = {
      reasoning: "x",
      steps: [
        { description: "1. Open the thread with Dana", estimated_minutes: 0, leaf_type: "screen" },
        { description: "Write the answer", estimated_minutes: 45, leaf_type: "DIGITAL", confidence: 7 },
        { description: "Send it", estimated_minutes: "3", leaf_type: "HUMAN" },
      ],
    };
    vi.spyOn(aiBinding(), "run").mockResolvedValue({ response: JSON.stringify(wild) } as never);
    const repaired = await splitTask(user, task.task_id);
    expect(repaired.split_method).toBe("ai");
    // 45 minutes is cut to the longest step medium energy and spiciness 3 allow (5).
    expect(repaired.suggested_steps.map((s) => s.estimated_minutes)).toEqual([1, 5, 3]);
    expect(repaired.suggested_steps[0]?.description).toBe("Open the thread with Dana");
    expect(repaired.suggested_steps[1]?.confidence).toBe(1);
    vi.restoreAllMocks();

    const broken = vi
      .spyOn(aiBinding(), "run")
      .mockResolvedValue({ response: "Sure! Here are steps:" } as never);
    const fallback = await splitTask(user, task.task_id);
    expect(broken).toHaveBeenCalledTimes(2);
    expect(fallback.split_method).toBe("local");
    vi.restoreAllMocks();

    const filler = vi.spyOn(aiBinding(), "run").mockResolvedValue({
      response: {
        reasoning: "x",
        steps: [{ description: "Step 1", estimated_minutes: 3, leaf_type: "HUMAN" }],
      },
    } as never);
    expect((await splitTask(user, task.task_id)).split_method).toBe("local");
    expect(filler).toHaveBeenCalledTimes(2);
  });

  it("falls back to the local splitter within the timeout when the model hangs, and never calls it for splitter: local", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reply to Dana about the contract" });
    const run = vi.spyOn(aiBinding(), "run").mockReturnValue(new Promise(() => {}) as never);
    const started = Date.now();
    const split = await splitTask(user, task.task_id);
    const took = Date.now() - started;
    expect(split.split_method).toBe("local");
    expect(run).toHaveBeenCalledTimes(1);
    expect(took).toBeLessThan(Number(env.SPLIT_AI_TIMEOUT_MS) + 1000);
    expect(took).toBeGreaterThanOrEqual(Number(env.SPLIT_AI_TIMEOUT_MS) - 50);
    run.mockClear();
    expect((await splitTask(user, task.task_id, { splitter: "local" })).split_method).toBe("local");
    expect(run).not.toHaveBeenCalled();
  });

  it("splits a step with Workers AI too (2–5 parts), and falls back to the timeboxing pattern", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Write the report",
      micro_steps: [{ description: "Write the introduction", estimated_minutes: 8, leaf_type: "DIGITAL" }],
    });
    const step = task.micro_steps?.[0]?.step_id ?? "";
    const run = vi.spyOn(aiBinding(), "run").mockResolvedValue({
      response: {
        reasoning: "Two moves",
        steps: [
          {
            description: "Write one sentence saying what the report is for",
            estimated_minutes: 3,
            leaf_type: "DIGITAL",
          },
          {
            description: "Add two sentences on what the reader will get",
            estimated_minutes: 4,
            leaf_type: "DIGITAL",
          },
        ],
      },
    } as never);
    const split = await splitStep(user, task.task_id, step, { energy_level: "high", difficulty: 1 });
    expect(split).toMatchObject({
      split_method: "ai",
      step_id: step,
      scope: "SIMPLE",
      task_estimated_minutes: 8,
    });
    expect(split.suggested_steps.map((s) => s.estimated_minutes)).toEqual([3, 4]);
    expect(JSON.stringify(run.mock.calls[0]?.[1])).toContain("Split this step further");
    run.mockResolvedValue({
      response: { reasoning: "x", steps: [{ description: "Write it", estimated_minutes: 8 }] },
    } as never);
    const fallback = await splitStep(user, task.task_id, step, { energy_level: "low" });
    expect(fallback.split_method).toBe("pattern");
  });

  it("asks the model for sub-tasks on a project and checks each", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Plan the wedding", estimated_minutes: 600 });
    const sub = (title: string) => ({ title, steps: good.steps });
    vi.spyOn(aiBinding(), "run").mockResolvedValue({
      response: {
        reasoning: "Big",
        steps: good.steps,
        subtasks: [sub("Pick a date"), sub("Book the venue")],
      },
    } as never);
    const split = await splitTask(user, task.task_id, { apply: true });
    expect(split).toMatchObject({ split_method: "ai", scope: "PROJECT" });
    expect(split.subtasks.map((s) => s.title)).toEqual(["Pick a date", "Book the venue"]);
    expect(split.subtasks.every((s) => s.task_id)).toBe(true);
  });
});

describe("learning from step feedback", () => {
  it("takes exactly one of too_large, too_small or just_right", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Tidy the desk",
      micro_steps: [{ description: "Clear it" }],
    });
    const step = task.micro_steps?.[0]?.step_id ?? "";
    for (const body of [
      {},
      { rating: "too_large", too_small: true },
      { too_large: true, just_right: true },
      { rating: "huge" },
    ]) {
      const res = await call(`/api/v1/tasks/${task.task_id}/steps/${step}/feedback`, {
        method: "POST",
        token: user.token,
        body,
      });
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect((await rateStep(user, task.task_id, step, { too_small: true })).rating).toBe("too_small");
    expect(
      (await rateStep(user, task.task_id, step, { rating: "JUST_RIGHT", actual_minutes: 5 })).rating,
    ).toBe("just_right");
    const rows = await env.DB.prepare("SELECT rating, actual_minutes FROM step_feedback WHERE step_id = ?")
      .bind(step)
      .all();
    expect(rows.results).toEqual([{ rating: "just_right", actual_minutes: 5 }]);
    const prefs = await callJson<
      { category: string; samples: number; just_right: number; too_small: number }[]
    >("/api/v1/tasks/split/preferences", 200, { token: user.token });
    expect(prefs).toEqual([
      expect.objectContaining({ category: "Personal", samples: 1, just_right: 1, too_small: 0 }),
    ]);
    // An agent's own token reads none of what the person's ratings taught.
    const agent = await registerAgent(user);
    if (!agent.token) throw new Error("The agent was registered without its own token");
    expect(await callJson("/api/v1/tasks/split/preferences", 200, { token: agent.token })).toEqual([]);
  });

  it("makes the next split finer after steps were rated too large", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Write the essay",
      estimated_minutes: 60,
      category: "Academic",
    });
    const before = await splitTask(user, task.task_id, {
      energy_level: "high",
      difficulty: 2,
      splitter: "local",
    });
    const applied = await splitTask(user, task.task_id, {
      energy_level: "high",
      difficulty: 2,
      apply: true,
      splitter: "local",
    });
    for (const step of applied.task?.micro_steps ?? []) {
      await rateStep(user, task.task_id, step.step_id, { rating: "too_large", actual_minutes: 12 });
    }
    const after = await splitTask(user, task.task_id, {
      energy_level: "high",
      difficulty: 2,
      splitter: "local",
    });
    const longest = (s: Split) => Math.max(...s.suggested_steps.map((x) => x.estimated_minutes));
    expect(longest(after)).toBeLessThan(longest(before));
    expect(after.reasoning).toContain("ratings");
    const [pref] = await callJson<PreferenceDto[]>("/api/v1/tasks/split/preferences", 200, {
      token: user.token,
    });
    expect(pref).toMatchObject({ category: "Academic", too_large: applied.suggested_steps.length });
    expect(pref?.step_minutes).toBeLessThan(5);
    // Another user's splits are not affected.
    const other = await createUser();
    const theirs = await createTask(other, {
      title: "Write the essay",
      estimated_minutes: 60,
      category: "Academic",
    });
    const fresh = await splitTask(other, theirs.task_id, {
      energy_level: "high",
      difficulty: 2,
      splitter: "local",
    });
    expect(fresh.suggested_steps).toEqual(before.suggested_steps);
  });
});

describe("splits under pressure", () => {
  it("applies a project once when three applies race (the others answer 409, nothing doubles)", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "File my taxes" });
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        call(`/api/v1/tasks/split/${task.task_id}`, {
          method: "POST",
          token: user.token,
          body: { apply: true, splitter: "local" },
        }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const won = (await answers.find((r) => r.status === 200)?.json()) as Split;
    const made = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE parent_task_id = ?")
      .bind(task.task_id)
      .first<{ n: number }>();
    expect(made?.n).toBe(won.subtasks.length);
    const shares = won.subtasks.reduce((t, s) => t + s.estimated_minutes, 0);
    expect(Math.abs(shares - won.task_estimated_minutes)).toBeLessThanOrEqual(won.subtasks.length);
  });

  it("replaces a step once when two re-splits race", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Write",
      micro_steps: [{ description: "Write the summary", estimated_minutes: 8 }, { description: "Send it" }],
    });
    const step = task.micro_steps?.[0]?.step_id ?? "";
    const answers = await Promise.all(
      [1, 2].map(() =>
        call(`/api/v1/tasks/${task.task_id}/steps/${step}/split`, {
          method: "POST",
          token: user.token,
          body: { apply: true, splitter: "local" },
        }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => s.position)).toEqual(after.micro_steps?.map((_, i) => i + 1));
    expect(after.micro_steps?.at(-1)?.description).toBe("Send it");
  });

  it("counts every one of six ratings sent at once, and a repeated rating once", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Water the plants",
      category: "Health",
      micro_steps: Array.from({ length: 6 }, (_, i) => ({ description: `Water plant ${i + 1}` })),
    });
    const steps = task.micro_steps ?? [];
    await Promise.all(steps.map((s) => rateStep(user, task.task_id, s.step_id, { rating: "just_right" })));
    const again = await rateStep(user, task.task_id, steps[0]?.step_id ?? "", { rating: "just_right" });
    expect(again.preference).toMatchObject({ samples: 6 });
    const [pref] = await callJson<PreferenceDto[]>("/api/v1/tasks/split/preferences", 200, {
      token: user.token,
    });
    expect(pref).toMatchObject({ samples: 6, just_right: 6 });
  });

  it("applies an earlier suggestion exactly as shown (split_id), once", async () => {
    const user = await createUser();
    const other = await createUser();
    const task = await createTask(user, { title: "Write the quarterly report" });
    const shown = await splitTask(user, task.task_id, { energy_level: "low", splitter: "local" });
    const res = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: user.token,
      body: { split_id: shown.split_id },
    });
    expect(res.status).toBe(422);
    const theirs = await createTask(other, { title: "Write the quarterly report" });
    const foreign = await call(`/api/v1/tasks/split/${theirs.task_id}`, {
      method: "POST",
      token: other.token,
      body: { split_id: shown.split_id, apply: true },
    });
    expect(foreign.status).toBe(404);
    const applied = await splitTask(user, task.task_id, {
      split_id: shown.split_id,
      apply: true,
      energy_level: "high",
    });
    expect(applied.split_id).toBe(shown.split_id);
    expect(applied.task?.micro_steps?.map((s) => [s.description, s.estimated_minutes])).toEqual(
      shown.suggested_steps.map((s) => [s.description, s.estimated_minutes]),
    );
    const row = await env.DB.prepare("SELECT applied FROM task_splits WHERE id = ?")
      .bind(shown.split_id)
      .first();
    expect(row).toEqual({ applied: 1 });
    const twice = await call(`/api/v1/tasks/split/${task.task_id}`, {
      method: "POST",
      token: user.token,
      body: { split_id: shown.split_id, apply: true },
    });
    expect(twice.status).toBe(409);
  });

  it("keeps the model to one deadline over both attempts, and retries once after an error", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reply to Dana about the contract" });
    const limit = Number(env.SPLIT_AI_TIMEOUT_MS);
    const run = vi
      .spyOn(aiBinding(), "run")
      .mockImplementationOnce(
        () =>
          new Promise((resolve) =>
            setTimeout(() => resolve({ response: "not json" }), limit * 0.75),
          ) as never,
      )
      .mockImplementationOnce(() => new Promise(() => {}) as never);
    const started = Date.now();
    const split = await splitTask(user, task.task_id);
    expect(split.split_method).toBe("local");
    expect(run).toHaveBeenCalledTimes(2);
    expect(Date.now() - started).toBeLessThan(limit + 250);
    vi.restoreAllMocks();
    const good = {
      reasoning: "ok",
      steps: ["Open the thread", "Write the answer", "Send it"].map((d) => ({
        description: d,
        estimated_minutes: 2,
        leaf_type: "DIGITAL",
      })),
    };
    const flaky = vi
      .spyOn(aiBinding(), "run")
      .mockRejectedValueOnce(new Error("3040: capacity"))
      .mockResolvedValueOnce({ response: good } as never);
    expect((await splitTask(user, task.task_id)).split_method).toBe("ai");
    expect(flaky).toHaveBeenCalledTimes(2);
  });

  it("uses a template only when its steps fit a split (3–7), and clips a long step's parts to 500 characters", async () => {
    const user = await createUser();
    await callJson("/api/v1/templates", 201, {
      token: user.token,
      body: {
        name: "Feed the cat",
        category: "Personal",
        steps: [{ description: "Open a tin", estimated_minutes: 10 }],
      },
    });
    const task = await createTask(user, { title: "Feed the cat", estimated_minutes: 300 });
    const split = await splitTask(user, task.task_id, { energy_level: "low", difficulty: 5 });
    expect(split.split_method).not.toBe("template");
    expect(split.scope).toBe("PROJECT");
    const long = await createTask(user, {
      title: "Long",
      micro_steps: [{ description: `Write ${"very ".repeat(98)}long`, estimated_minutes: 9 }],
    });
    const parts = await splitStep(user, long.task_id, long.micro_steps?.[0]?.step_id ?? "", {
      apply: true,
      splitter: "local",
    });
    for (const s of parts.suggested_steps) expect(s.description.length).toBeLessThanOrEqual(500);
  });
});
