import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUser } from "./helpers/api";
import { registerAgent } from "./helpers/delegation";
import { statementsOf, wholeTableScans } from "./helpers/query-plans";
import { createTask } from "./helpers/tasks";

/**
 * The hot routes' statements reach their rows through indexes, so that their cost does not grow with
 * everyone's data: one statement that scans a table is a regression long before a bench shows it.
 */
describe("the hot routes' query plans", () => {
  it("a delegation: no statement reads a whole table (the claim once scanned assignments per agent)", async () => {
    const user = await createUser();
    for (let i = 0; i < 5; i++) await registerAgent(user, { agent_type: "backend" });
    const task = await createTask(user, { title: "Refactor the billing module" });
    const body = { task_id: task.task_id, delegation_mode: "DELEGATE", prefer_agent_type: "backend" };
    const sent = await statementsOf("/api/v1/delegation/delegate", { token: user.token, body });
    expect(sent.status).toBe(200);
    expect(sent.statements.some((s) => /^update "agents"/i.test(s.sql))).toBe(true);
    // The claim found an agent: the plan checked is the one that ran.
    const claimed = await env.DB.prepare("SELECT agent_id FROM task_assignments WHERE task_id = ?")
      .bind(task.task_id)
      .first<{ agent_id: string | null }>();
    expect(claimed?.agent_id).toMatch(/^agent-/);
    expect(await wholeTableScans(sent.statements)).toEqual([]);
  });

  it("a task list, a task created and a split suggested: no statement reads a whole table", async () => {
    const user = await createUser();
    const created = await statementsOf("/api/v1/tasks", {
      token: user.token,
      body: { title: "Call the dentist", micro_steps: [{ description: "Find the number" }] },
    });
    expect(created.status).toBe(201);
    const listed = await statementsOf("/api/v1/tasks?limit=50", { token: user.token });
    expect(listed.status).toBe(200);
    const task = await createTask(user, { title: "Clean the garage", estimated_minutes: 60 });
    const split = await statementsOf(`/api/v1/tasks/split/${task.task_id}`, {
      token: user.token,
      body: { energy_level: "medium", difficulty: 3, splitter: "local" },
    });
    expect(split.status).toBe(200);
    const all = [...created.statements, ...listed.statements, ...split.statements];
    expect(all.length).toBeGreaterThan(3);
    expect(await wholeTableScans(all)).toEqual([]);
  });
});
