import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LegacyCapture, LegacyClarify, LegacySaved } from "../src/features/compat/capture-schemas";
import { normalisedSteps, previewSteps, stepsToSave } from "../src/features/compat/capture-steps";
import type { LegacyProject } from "../src/features/compat/projects-schemas";
import type { ProblemBody } from "../src/lib/errors";
import { createUser, type TestUser } from "./helpers/api";
import { tripsFor } from "./helpers/counting-d1";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { eventsOf } from "./helpers/outbox";
import { getTask } from "./helpers/tasks";

async function taskCount(user: TestUser): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
    .bind(user.id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The app's capture screen: `add.tsx` sends the line with a hard-coded user and mode. */
const preview = (user: TestUser, query = "Email Sam about the rent tomorrow !high #home") =>
  legacyJson<LegacyCapture>("/capture/", 200, {
    token: user.token,
    body: { query, user_id: "user_123", mode: "auto" },
  });

describe("POST /capture/ with the app's query: a preview", () => {
  it("answers the parsed task and suggested micro-steps in the original's shape and stores nothing", async () => {
    const user = await createUser();
    const shown = await preview(user);
    expect(shown.task).toMatchObject({
      title: "Email Sam about the rent",
      description: "",
      priority: "high",
      tags: ["home"],
    });
    expect(shown.task.task_id).toBeTruthy();
    expect(shown.task.due_at).toMatch(/Z$/);
    expect(shown.task.estimated_minutes).toBeGreaterThan(0);
    expect(shown.clarifications).toEqual([]);
    expect(shown.ready_to_save).toBe(true);
    expect(shown.mode).toBe("auto");
    expect(shown.micro_steps.length).toBeGreaterThanOrEqual(1);
    expect(shown.micro_steps.map((s) => s.step_order)).toEqual(shown.micro_steps.map((_, i) => i + 1));
    for (const step of shown.micro_steps) {
      expect(step.step_id).toBeTruthy();
      expect(step.description).not.toBe("");
      expect(["DO", "DELEGATE"]).toContain(step.delegation_mode);
      expect(["DIGITAL", "HUMAN"]).toContain(step.leaf_type);
      expect(step.estimated_minutes).toBeGreaterThanOrEqual(1);
      expect(step.tags).toEqual([]);
    }
    expect(await taskCount(user)).toBe(0);
    expect(await eventsOf(user.id)).toEqual([]);
  });

  it("still stores a task from `text` (201), and wants exactly one of text and query", async () => {
    const user = await createUser();
    const stored = await legacyCall("/capture/", { token: user.token, body: { text: "water the plants" } });
    expect(stored.status).toBe(201);
    expect(await taskCount(user)).toBe(1);
    const both = await legacyJson<ProblemBody>("/capture/", 422, {
      token: user.token,
      body: { text: "a", query: "b" },
    });
    expect(both.errors?.map((e) => e.field)).toEqual(["query"]);
    const neither = await legacyJson<ProblemBody>("/capture/", 422, {
      token: user.token,
      body: { mode: "auto" },
    });
    expect(neither.errors?.map((e) => e.field)).toEqual(["text"]);
    expect(await taskCount(user)).toBe(1);
  });

  it("needs a token", async () => {
    expect((await legacyCall("/capture/", { body: { query: "x", user_id: "user_123" } })).status).toBe(401);
  });
});

describe("POST /capture/clarify", () => {
  it("answers the steps in order, numbered, ready to save, with an empty task to merge", async () => {
    const user = await createUser();
    const clarified = await legacyJson<LegacyClarify>("/capture/clarify", 200, {
      token: user.token,
      body: {
        micro_steps: [
          {
            step_id: "b",
            step_order: 2,
            description: "Send it",
            estimated_minutes: 3,
            delegation_mode: "delegate",
          },
          { step_id: "a", step_order: 1, description: "Write it", estimated_minutes: 25, leaf_type: "human" },
        ],
        answers: { due: "Friday" },
      },
    });
    expect(clarified.task).toEqual({});
    expect(clarified.micro_steps).toMatchObject([
      { step_id: "a", step_order: 1, description: "Write it", leaf_type: "HUMAN", delegation_mode: "DO" },
      { step_id: "b", step_order: 2, leaf_type: "DIGITAL", delegation_mode: "DELEGATE" },
    ]);
    expect(clarified).toMatchObject({ clarifications: [], ready_to_save: true });
    expect(await taskCount(user)).toBe(0);
  });
});

describe("POST /capture/save", () => {
  it("saves the preview as a task with its steps, longer ones in parts, and a retry gives the same task", async () => {
    const user = await createUser();
    const shown = await preview(user);
    const body = {
      task: shown.task,
      micro_steps: [...shown.micro_steps, { description: "Read the lease", estimated_minutes: 25 }],
      user_id: "user_123",
      project_id: "default-project",
    };
    const saved = await legacyJson<LegacySaved>("/capture/save", 201, { token: user.token, body });
    const expected = shown.micro_steps.length + 3;
    expect(saved).toMatchObject({ success: true, total_steps: expected });
    expect(saved.micro_step_ids).toHaveLength(expected);
    expect(saved.message).toContain(`${expected} micro-steps`);
    const task = await getTask(user, saved.task_id);
    expect(task).toMatchObject({
      title: shown.task.title,
      priority: "high",
      tags: ["home"],
      project_id: null,
    });
    expect(task.micro_steps?.map((s) => s.step_id)).toEqual(saved.micro_step_ids);
    expect(task.micro_steps?.slice(-3).map((s) => [s.description, s.estimated_minutes])).toEqual([
      ["Read the lease (part 1 of 3)", 9],
      ["Read the lease (part 2 of 3)", 8],
      ["Read the lease (part 3 of 3)", 8],
    ]);

    const retried = await legacyCall("/capture/save", { token: user.token, body });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await retried.json()) as LegacySaved).task_id).toBe(saved.task_id);
    expect(await taskCount(user)).toBe(1);
    expect(await eventsOf(user.id, "task.created")).toHaveLength(1);

    // The same preview saved again with a change: a sentence the app can show, not "Idempotency-Key".
    const edited = await legacyCall("/capture/save", {
      token: user.token,
      body: { ...body, task: { ...body.task, title: "Email Sam about the rent today" } },
    });
    expect(edited.status).toBe(409);
    expect(await edited.json()).toMatchObject({
      code: "capture_already_saved",
      detail: "This capture was already saved; capture the line again to save a changed version.",
    });
    expect(await taskCount(user)).toBe(1);
    // Another person's save of a preview with the same id is theirs alone.
    const other = await createUser();
    await legacyJson<LegacySaved>("/capture/save", 201, { token: other.token, body });
    expect(await taskCount(other)).toBe(1);
  });

  it("puts the task in a project the caller owns", async () => {
    const user = await createUser();
    const project = await legacyJson<LegacyProject>("/projects", 201, {
      token: user.token,
      body: { name: "Home", description: "" },
    });
    const shown = await preview(user, "fix the tap");
    const saved = await legacyJson<LegacySaved>("/capture/save", 201, {
      token: user.token,
      body: { task: shown.task, micro_steps: shown.micro_steps, project_id: project.project_id },
    });
    expect(saved.task.project_id).toBe(project.project_id);
  });

  it("refuses more than 50 micro-steps after splitting, naming micro_steps, and stores nothing", async () => {
    const user = await createUser();
    const steps = Array.from({ length: 9 }, (_, i) => ({
      description: `Chapter ${i + 1}`,
      estimated_minutes: 60,
    }));
    const problem = await legacyJson<ProblemBody>("/capture/save", 422, {
      token: user.token,
      body: { task: { title: "Read the book" }, micro_steps: steps },
    });
    expect(problem.errors?.map((e) => e.field)).toEqual(["micro_steps"]);
    expect(await taskCount(user)).toBe(0);
  });

  it("refuses a step over 60 minutes and a missing title with 422 naming them", async () => {
    const user = await createUser();
    const long = await legacyJson<ProblemBody>("/capture/save", 422, {
      token: user.token,
      body: { task: { title: "x" }, micro_steps: [{ description: "y", estimated_minutes: 61 }] },
    });
    expect(long.errors?.[0]?.field).toContain("estimated_minutes");
    const untitled = await legacyJson<ProblemBody>("/capture/save", 422, {
      token: user.token,
      body: { task: {}, micro_steps: [] },
    });
    expect(untitled.errors?.[0]?.field).toContain("title");
  });
});

describe("what a preview costs", () => {
  it("reads the account's time zone and onboarding answers in one statement, which also shows the account live", async () => {
    const user = await createUser();
    const body = (extra: object = {}) => JSON.stringify({ query: "call mum tomorrow", ...extra });
    expect(await tripsFor("/api/v1/capture/", { method: "POST", body: body(), token: user.token })).toEqual({
      status: 200,
      trips: 1,
    });
    expect(
      await tripsFor("/api/v1/capture/", {
        method: "POST",
        body: body({ timezone: "Europe/Berlin" }),
        token: user.token,
      }),
    ).toEqual({ status: 200, trips: 1 });
  });
});

describe("a preview sized by onboarding", () => {
  it("gives finer steps to a person who asked for the most support, as a split would", async () => {
    const line = "Write the quarterly budget report ~60m";
    const plain = await preview(await createUser(), line);
    const supported = await createUser();
    await legacyJson(`/api/v1/users/${supported.id}/onboarding`, 200, {
      method: "PUT",
      token: supported.token,
      body: { adhd_support_level: 10 },
    });
    const finer = await preview(supported, line);
    const longest = (p: LegacyCapture) => Math.max(...p.micro_steps.map((s) => s.estimated_minutes));
    expect(longest(finer)).toBeLessThan(longest(plain));
    const mean = (p: LegacyCapture) =>
      p.micro_steps.reduce((sum, s) => sum + s.estimated_minutes, 0) / p.micro_steps.length;
    expect(mean(finer)).toBeLessThan(mean(plain));
  });
});

describe("capture steps (pure)", () => {
  let n = 0;
  const ids = () => `id${++n}`;

  it("shows a splitter's suggestion with delegation modes from the leaf type", () => {
    const shown = previewSteps(
      [
        {
          step_order: 1,
          description: "Open the app",
          short_label: "Open",
          estimated_minutes: 2,
          leaf_type: "DIGITAL",
          reasoning: "",
          confidence: 1,
        },
        {
          step_order: 2,
          description: "Walk over",
          short_label: "Walk",
          estimated_minutes: 4,
          leaf_type: "HUMAN",
          reasoning: "",
          confidence: 1,
        },
      ],
      ids,
    );
    expect(shown.map((s) => [s.step_order, s.delegation_mode, s.icon])).toEqual([
      [1, "DELEGATE", null],
      [2, "DO", null],
    ]);
  });

  it("orders by step_order, keeping the listed order among steps without one", () => {
    const steps = normalisedSteps(
      [
        { description: "c" },
        { description: "b", step_order: 2 },
        { description: "a", step_order: 1 },
        { description: "d" },
      ],
      ids,
    );
    expect(steps.map((s) => [s.description, s.step_order, s.estimated_minutes])).toEqual([
      ["a", 1, 5],
      ["b", 2, 5],
      ["c", 3, 5],
      ["d", 4, 5],
    ]);
  });

  it("saves a long step as parts, its label and icon on the first only", () => {
    const saved = stepsToSave([
      {
        description: "Essay",
        estimated_minutes: 15,
        short_label: "Essay",
        icon: "✍️",
        delegation_mode: "DELEGATE",
      },
    ]);
    expect(saved).toEqual([
      {
        description: "Essay (part 1 of 2)",
        estimated_minutes: 8,
        leaf_type: "DIGITAL",
        short_label: "Essay",
        icon: "✍️",
      },
      {
        description: "Essay (part 2 of 2)",
        estimated_minutes: 7,
        leaf_type: "DIGITAL",
        short_label: null,
        icon: null,
      },
    ]);
  });
});
