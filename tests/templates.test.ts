import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATES, DEFAULT_TEMPLATES_CREATED_AT } from "../src/features/templates/defaults";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { registerAgent } from "./helpers/delegation";
import { openApiDocument } from "./helpers/openapi";
import { completeStep, createTask, getTask, type Task } from "./helpers/tasks";
import { createTemplate, type Template, templateSteps, uniqueTemplateId } from "./helpers/templates";

const REQUIRED_DEFAULTS = [
  ["tpl_homework_assignment", "Academic"],
  ["tpl_email_inbox_zero", "Work"],
  ["tpl_clean_the_kitchen", "Personal"],
  ["tpl_pay_a_bill", "Personal"],
  ["tpl_write_a_report", "Work"],
] as const;

const countTemplates = async (column: "id" | "user_id", value: string) =>
  (
    await env.DB.prepare(`SELECT count(*) AS n FROM task_templates WHERE ${column} = ?`)
      .bind(value)
      .first<{ n: number }>()
  )?.n;

const stepRowsOf = (templateId: string) =>
  env.DB.prepare("SELECT * FROM template_steps WHERE template_id = ? ORDER BY position")
    .bind(templateId)
    .all<{ position: number; description: string }>()
    .then((r) => r.results);

const timesApplied = async (templateId: string) =>
  (
    await env.DB.prepare("SELECT times_applied FROM task_templates WHERE id = ?")
      .bind(templateId)
      .first<{ times_applied: number }>()
  )?.times_applied;

/** A problem without what names the request itself (its path, its request id). */
const comparable = (problem: object) => ({
  ...problem,
  request_id: undefined,
  instance: undefined,
});

const nextPath = (res: Response) => /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];

/** Every page of a list, following the Link headers; also returns how many pages it took. */
async function listAll(user: TestUser, path: string): Promise<{ items: Template[]; pages: number }> {
  const items: Template[] = [];
  let pages = 0;
  let next: string | undefined = path;
  while (next) {
    const res = await call(next, { token: user.token });
    expect(res.status, next).toBe(200);
    items.push(...(await res.json<Template[]>()));
    pages += 1;
    next = nextPath(res);
  }
  return { items, pages };
}

describe("the built-in templates", () => {
  it("are in D1 exactly as the code lists them, public and owned by nobody", async () => {
    const rows = await env.DB.prepare(
      "SELECT id, user_id, name, description, category, icon, is_public, created_at, updated_at FROM task_templates WHERE user_id IS NULL ORDER BY id",
    ).all();
    const expected = [...DEFAULT_TEMPLATES]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((t) => ({
        id: t.id,
        user_id: null,
        name: t.name,
        description: t.description,
        category: t.category,
        icon: t.icon,
        is_public: 1,
        created_at: DEFAULT_TEMPLATES_CREATED_AT,
        updated_at: DEFAULT_TEMPLATES_CREATED_AT,
      }));
    expect(rows.results).toEqual(expected);
    for (const template of DEFAULT_TEMPLATES) {
      const steps = await env.DB.prepare(
        "SELECT position, description, short_label, estimated_minutes, leaf_type, icon FROM template_steps WHERE template_id = ? ORDER BY position",
      )
        .bind(template.id)
        .all();
      expect(steps.results, template.id).toEqual(template.steps.map((s, i) => ({ position: i + 1, ...s })));
    }
  });

  it("include the five the product promises, each 4–8 small steps that start with a tiny one", () => {
    const byId = new Map(DEFAULT_TEMPLATES.map((t) => [t.id, t]));
    for (const [id, category] of REQUIRED_DEFAULTS) expect(byId.get(id)?.category, id).toBe(category);
    expect(new Set(DEFAULT_TEMPLATES.map((t) => t.id)).size).toBe(DEFAULT_TEMPLATES.length);
    for (const template of DEFAULT_TEMPLATES) {
      expect(template.steps.length, template.id).toBeGreaterThanOrEqual(4);
      expect(template.steps.length, template.id).toBeLessThanOrEqual(8);
      for (const step of template.steps) {
        expect(step.estimated_minutes, step.description).toBeGreaterThanOrEqual(2);
        expect(step.estimated_minutes, step.description).toBeLessThanOrEqual(5);
        // Verb first: a capitalised imperative, not "The …" or "A …".
        expect(step.description, step.description).toMatch(/^[A-Z][a-z]+ /);
        expect(step.description).not.toMatch(/^(The|A|An) /);
      }
      expect(template.steps[0]?.estimated_minutes, template.id).toBeLessThanOrEqual(2);
    }
  });

  it("are readable and listed for everyone, marked as defaults and as not the reader's", async () => {
    const user = await createUser();
    const homework = await callJson<Template>("/api/v1/templates/tpl_homework_assignment", 200, {
      token: user.token,
    });
    const code = DEFAULT_TEMPLATES.find((t) => t.id === "tpl_homework_assignment");
    expect(homework).toMatchObject({
      template_id: "tpl_homework_assignment",
      name: code?.name,
      category: "Academic",
      is_public: true,
      is_mine: false,
      is_default: true,
      step_count: code?.steps.length,
      total_estimated_minutes: code?.steps.reduce((sum, s) => sum + s.estimated_minutes, 0),
    });
    expect(homework.steps.map((s) => s.description)).toEqual(code?.steps.map((s) => s.description));
    expect(homework.steps[0]?.description).toBe("Open the assignment and read the first question");
    const { items } = await listAll(user, "/api/v1/templates?limit=100");
    const listed = items.map((t) => t.template_id);
    for (const template of DEFAULT_TEMPLATES) expect(listed).toContain(template.id);
  });
});

describe("creating and reading a template", () => {
  it("creates one with canonical enums and defaults filled in, and reads it back the same", async () => {
    const user = await createUser();
    const created = await createTemplate(user, {
      name: "  Morning launch  ",
      description: "Get out of the door",
      category: "heALTH",
      icon: "🌅",
      steps: [
        {
          description: "Drink a glass of water",
          estimated_minutes: 1,
          leaf_type: "human",
          short_label: "Water",
        },
        { description: "Check the calendar on your phone", leaf_type: "Digital", icon: "📅" },
        { description: "Put on shoes", estimated_minutes: 10 },
      ],
    });
    expect(created).toMatchObject({
      name: "Morning launch",
      description: "Get out of the door",
      category: "Health",
      icon: "🌅",
      is_public: false,
      is_mine: true,
      is_default: false,
      times_applied: 0,
      step_count: 3,
      total_estimated_minutes: 16,
    });
    expect(created.template_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.steps).toEqual([
      {
        step_id: expect.any(String),
        template_id: created.template_id,
        step_order: 1,
        position: 1,
        description: "Drink a glass of water",
        short_label: "Water",
        estimated_minutes: 1,
        leaf_type: "HUMAN",
        icon: null,
      },
      {
        step_id: expect.any(String),
        template_id: created.template_id,
        step_order: 2,
        position: 2,
        description: "Check the calendar on your phone",
        short_label: null,
        estimated_minutes: 5,
        leaf_type: "DIGITAL",
        icon: "📅",
      },
      {
        step_id: expect.any(String),
        template_id: created.template_id,
        step_order: 3,
        position: 3,
        description: "Put on shoes",
        short_label: null,
        estimated_minutes: 10,
        leaf_type: "HUMAN",
        icon: null,
      },
    ]);
    expect(new Set(created.steps.map((s) => s.step_id)).size).toBe(3);
    const read = await callJson<Template>(`/api/v1/templates/${created.template_id}`, 200, {
      token: user.token,
    });
    expect(read).toEqual(created);
    const row = await env.DB.prepare("SELECT user_id, category, is_public FROM task_templates WHERE id = ?")
      .bind(created.template_id)
      .first();
    expect(row).toEqual({ user_id: user.id, category: "Health", is_public: 0 });
  });

  it("takes a client-chosen id, and answers 409 when the same account uses it again", async () => {
    const alice = await createUser();
    const id = `${uniqueTemplateId("weekly")}.review:v1-x`;
    const created = await createTemplate(alice, { template_id: id });
    expect(created.template_id).toBe(id);
    const again = await call("/api/v1/templates", {
      token: alice.token,
      body: { template_id: id, name: "Dup", category: "Work", steps: templateSteps(1) },
    });
    expect(again.status).toBe(409);
    const problem = await problemOf(again);
    expect(problem.code).toBe("template_id_taken");
    expect(problem.detail).toContain(id);
    expect(await countTemplates("user_id", alice.id)).toBe(1);
    const bad = await call("/api/v1/templates", {
      token: alice.token,
      body: { template_id: "has space", name: "x", category: "Work", steps: templateSteps(1) },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["template_id"]);
  });

  it("keeps client-chosen ids per account: another user takes the same id and neither sees the other's", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const id = uniqueTemplateId("private");
    const hers = await createTemplate(alice, { template_id: id, name: "Alice's routine" });
    const his = await createTemplate(bob, { template_id: id, name: "Bob's routine" });
    expect(his).toMatchObject({ template_id: id, name: "Bob's routine", is_mine: true });
    const path = `/api/v1/templates/${id}`;
    expect(await callJson<Template>(path, 200, { token: alice.token })).toEqual(hers);
    expect(await callJson<Template>(path, 200, { token: bob.token })).toEqual(his);
    await callJson(path, 200, { method: "PATCH", token: bob.token, body: { name: "Bob's new name" } });
    await callJson(`${path}/steps`, 200, {
      method: "PUT",
      token: bob.token,
      body: { steps: templateSteps(3) },
    });
    const applied = await callJson<Task>(`${path}/apply`, 201, {
      method: "POST",
      token: alice.token,
    });
    expect(applied).toMatchObject({ title: "Alice's routine" });
    expect(applied.micro_steps).toHaveLength(2);
    await callJson(path, 204, { method: "DELETE", token: bob.token });
    expect(await callJson<Template>(path, 200, { token: alice.token })).toMatchObject({
      name: "Alice's routine",
      step_count: 2,
      times_applied: 1,
    });
    const mine = await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: bob.token });
    expect(mine).toEqual([]);
  });

  it("gives others one unambiguous id for a public template, whatever id its owner chose", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const id = uniqueTemplateId("shared");
    await createTemplate(alice, { template_id: id, name: "Alice's public", is_public: true });
    await createTemplate(bob, { template_id: id, name: "Bob's public", is_public: true });
    const { items } = await listAll(carol, "/api/v1/templates?limit=100&q=s public");
    const seen = items.filter((t) => t.name === "Alice's public" || t.name === "Bob's public");
    expect(seen).toHaveLength(2);
    for (const template of seen) {
      expect(template.template_id).not.toBe(id);
      expect(template.is_mine).toBe(false);
      const read = await callJson<Template>(`/api/v1/templates/${template.template_id}`, 200, {
        token: carol.token,
      });
      expect(read).toEqual(template);
    }
    const byOwnId = await call(`/api/v1/templates/${id}`, { token: carol.token });
    expect(byOwnId.status).toBe(404);
    await byOwnId.body?.cancel();
  });

  it("answers 422 naming the fields for no steps, 11 steps, 0 or 61 minutes, a bad category", async () => {
    const user = await createUser();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ steps: [] }, ["steps"]],
      [{ steps: undefined }, ["steps"]],
      [{ steps: templateSteps(11) }, ["steps"]],
      [{ steps: [{ description: "x", estimated_minutes: 0 }] }, ["steps.0.estimated_minutes"]],
      [
        { steps: [{ description: "ok" }, { description: "x", estimated_minutes: 61 }] },
        ["steps.1.estimated_minutes"],
      ],
      [{ category: "Hobby" }, ["category"]],
      [{ category: undefined }, ["category"]],
      [{ name: "" }, ["name"]],
      [{ name: "x".repeat(201) }, ["name"]],
      [{ description: "x".repeat(2001) }, ["description"]],
      [{ steps: [{ description: "x", leaf_type: "robot" }] }, ["steps.0.leaf_type"]],
      [{ steps: [{ description: "" }] }, ["steps.0.description"]],
    ];
    for (const [override, fields] of cases) {
      const res = await call("/api/v1/templates", {
        token: user.token,
        body: { name: "Bad", category: "Work", steps: templateSteps(2), ...override },
      });
      expect(res.status, JSON.stringify(override)).toBe(422);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.detail).toMatch(/\.$/);
      expect(
        problem.errors?.map((e) => e.field),
        JSON.stringify(override),
      ).toEqual(fields);
    }
    const eleven = await call("/api/v1/templates", {
      token: user.token,
      body: { name: "Bad", category: "Work", steps: templateSteps(11) },
    });
    expect((await problemOf(eleven)).detail).toContain("at most 10 steps");
    expect(await countTemplates("user_id", user.id)).toBe(0);
  });

  it("needs tasks:write to create and tasks:read to read", async () => {
    const user = await createUser();
    const own = await createTemplate(user);
    const { token } = await createApiToken(user.token, { name: "reader", scopes: ["tasks:read"] });
    const create = await call("/api/v1/templates", {
      token,
      body: { name: "x", category: "Work", steps: templateSteps(1) },
    });
    expect(create.status).toBe(403);
    expect((await problemOf(create)).code).toBe("forbidden");
    expect(await callJson<Template>(`/api/v1/templates/${own.template_id}`, 200, { token })).toEqual(own);
    const { token: profileOnly } = await createApiToken(user.token, {
      name: "profile",
      scopes: ["profile:read"],
    });
    const list = await call("/api/v1/templates", { token: profileOnly });
    expect(list.status).toBe(403);
    await list.body?.cancel();
    const anonymous = await call("/api/v1/templates");
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });
});

describe("changing a template", () => {
  it("updates metadata, replaces steps wholesale, and deletes the template with its steps", async () => {
    const user = await createUser();
    const created = await createTemplate(user, { steps: templateSteps(3) });
    const path = `/api/v1/templates/${created.template_id}`;
    const updated = await callJson<Template>(path, 200, {
      method: "PATCH",
      token: user.token,
      body: { name: "Renamed", category: "creative", is_public: true, icon: "🎨", description: null },
    });
    expect(updated).toMatchObject({
      template_id: created.template_id,
      name: "Renamed",
      category: "Creative",
      is_public: true,
      icon: "🎨",
      description: null,
      steps: created.steps,
    });
    expect(updated.updated_at >= created.updated_at).toBe(true);
    expect(updated.created_at).toBe(created.created_at);

    const replaced = await callJson<Template>(`${path}/steps`, 200, {
      method: "PUT",
      token: user.token,
      body: { steps: [{ description: "Only one", estimated_minutes: 3, leaf_type: "DIGITAL" }] },
    });
    expect(replaced).toMatchObject({ name: "Renamed", step_count: 1, total_estimated_minutes: 3 });
    expect(replaced.steps.map((s) => [s.position, s.description, s.leaf_type])).toEqual([
      [1, "Only one", "DIGITAL"],
    ]);
    expect((await stepRowsOf(created.template_id)).map((s) => s.description)).toEqual(["Only one"]);
    expect(await callJson<Template>(path, 200, { token: user.token })).toEqual(replaced);

    const tooMany = await call(`${path}/steps`, {
      method: "PUT",
      token: user.token,
      body: { steps: templateSteps(11) },
    });
    expect(tooMany.status).toBe(422);
    expect((await problemOf(tooMany)).errors?.map((e) => e.field)).toEqual(["steps"]);
    const none = await call(`${path}/steps`, { method: "PUT", token: user.token, body: { steps: [] } });
    expect(none.status).toBe(422);
    await none.body?.cancel();
    expect(await stepRowsOf(created.template_id)).toHaveLength(1);

    const deleted = await call(path, { method: "DELETE", token: user.token });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    const gone = await call(path, { token: user.token });
    expect(gone.status).toBe(404);
    expect((await problemOf(gone)).code).toBe("not_found");
    expect(await stepRowsOf(created.template_id)).toEqual([]);
    const again = await call(path, { method: "DELETE", token: user.token });
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });

  it("refuses changes to the built-in templates with 403 not_template_owner", async () => {
    const user = await createUser();
    const path = "/api/v1/templates/tpl_pay_a_bill";
    const before = await callJson<Template>(path, 200, { token: user.token });
    const attempts = [
      call(path, { method: "PATCH", token: user.token, body: { name: "Mine now" } }),
      call(`${path}/steps`, { method: "PUT", token: user.token, body: { steps: templateSteps(1) } }),
      call(path, { method: "DELETE", token: user.token }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe("not_template_owner");
      expect(problem.detail).toMatch(/built-in/);
    }
    const after = await callJson<Template>(path, 200, { token: user.token });
    expect({ ...after, times_applied: 0 }).toEqual({ ...before, times_applied: 0 });
    expect(await stepRowsOf("tpl_pay_a_bill")).toHaveLength(6);
  });
});

describe("another user's templates", () => {
  it("private ones answer 404 on every route, exactly like ids that never existed", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const secret = await createTemplate(alice, { name: "Alice secret routine", steps: templateSteps(2) });
    const missing = uniqueTemplateId("missing");
    const requests = (id: string) => [
      { path: `/api/v1/templates/${id}`, method: "GET" },
      { path: `/api/v1/templates/${id}`, method: "PATCH", body: { name: "hacked" } },
      { path: `/api/v1/templates/${id}/steps`, method: "PUT", body: { steps: templateSteps(1) } },
      { path: `/api/v1/templates/${id}/apply`, method: "POST", body: { title: "mine" } },
      { path: `/api/v1/task-templates/${id}`, method: "GET" },
      { path: `/api/v1/templates/${id}`, method: "DELETE" },
    ];
    const theirs = requests(secret.template_id);
    const never = requests(missing);
    for (const [i, request] of theirs.entries()) {
      const res = await call(request.path, { method: request.method, body: request.body, token: bob.token });
      const text = await res.text();
      expect(res.status, `${request.method} ${request.path}: ${text}`).toBe(404);
      expect(text).not.toContain("Alice secret routine");
      const other = never[i];
      const res2 = await call(other?.path ?? "", {
        method: other?.method,
        body: other?.body,
        token: bob.token,
      });
      expect(res2.status).toBe(404);
      expect(comparable(JSON.parse(text))).toEqual(comparable(await res2.json()));
    }
    const { items } = await listAll(bob, "/api/v1/templates?limit=100");
    expect(items.map((t) => t.template_id)).not.toContain(secret.template_id);
    // Nothing changed for Alice: same template, same steps, never applied.
    expect(
      await callJson<Template>(`/api/v1/templates/${secret.template_id}`, 200, { token: alice.token }),
    ).toEqual(secret);
    expect(await callJson<Task[]>("/api/v1/tasks", 200, { token: bob.token })).toEqual([]);
  });

  it("public ones are listed and appliable but answer 403 to changes", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const shared = await createTemplate(alice, { name: "Alice shared routine", is_public: true });
    const path = `/api/v1/templates/${shared.template_id}`;
    const seen = await callJson<Template>(path, 200, { token: bob.token });
    expect(seen).toEqual({ ...shared, is_mine: false });
    const { items } = await listAll(bob, "/api/v1/templates?q=alice%20shared&limit=100");
    expect(items.find((t) => t.template_id === shared.template_id)).toMatchObject({ is_mine: false });
    const task = await callJson<Task & { category: string }>(`${path}/apply`, 201, {
      method: "POST",
      token: bob.token,
    });
    expect(task.title).toBe("Alice shared routine");
    expect(await callJson<Task[]>("/api/v1/tasks", 200, { token: alice.token })).toEqual([]);
    for (const [method, suffix, body] of [
      ["PATCH", "", { name: "hacked" }],
      ["PUT", "/steps", { steps: templateSteps(1) }],
      ["DELETE", "", undefined],
    ] as const) {
      const res = await call(`${path}${suffix}`, { method, body, token: bob.token });
      expect(res.status, method).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe("not_template_owner");
      expect(problem.detail).toBe(
        "Only the person who made this template can change it; you can still apply it.",
      );
    }
    const after = await callJson<Template>(path, 200, { token: alice.token });
    expect(after).toEqual({ ...shared, times_applied: 1 });
    expect(await stepRowsOf(shared.template_id)).toHaveLength(2);
  });
});

describe("listing templates", () => {
  it("filters by category (any case), searches the name (any case) and narrows to mine", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const tag = crypto.randomUUID().slice(0, 8);
    const a1 = await createTemplate(alice, { name: `Zebra ${tag} plan`, category: "Academic" });
    const a2 = await createTemplate(alice, { name: `Other ${tag}`, category: "Work" });
    const b1 = await createTemplate(bob, {
      name: `ZEBRA ${tag} public`,
      category: "Academic",
      is_public: true,
    });
    await createTemplate(bob, { name: `Zebra ${tag} private`, category: "Academic" });

    const search = await listAll(alice, `/api/v1/templates?q=zebra%20${tag}`);
    expect(search.items.map((t) => t.template_id).sort()).toEqual([a1.template_id, b1.template_id].sort());
    const academic = await listAll(alice, `/api/v1/templates?q=${tag}&category=aCaDeMiC`);
    expect(academic.items.map((t) => t.template_id).sort()).toEqual([a1.template_id, b1.template_id].sort());
    const mine = await listAll(alice, "/api/v1/templates?mine=true");
    expect(mine.items.map((t) => t.template_id).sort()).toEqual([a1.template_id, a2.template_id].sort());
    expect(mine.items.every((t) => t.is_mine)).toBe(true);
    const everything = await listAll(alice, "/api/v1/templates?limit=100");
    const ids = everything.items.map((t) => t.template_id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(
      expect.arrayContaining([a1.template_id, a2.template_id, b1.template_id, "tpl_pay_a_bill"]),
    );
    expect(everything.items.filter((t) => !t.is_public && !t.is_mine)).toEqual([]);
    const defaults = await listAll(alice, "/api/v1/templates?q=homework&category=Academic");
    expect(defaults.items.map((t) => t.template_id)).toContain("tpl_homework_assignment");
    const listed = everything.items.find((t) => t.template_id === a1.template_id);
    expect(listed).toEqual(a1);

    const bad = await call("/api/v1/templates?category=Hobby", { token: alice.token });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["category"]);
  });

  it("pages through client-chosen ids with a Link header, in id order, and refuses a foreign cursor", async () => {
    const user = await createUser();
    const base = uniqueTemplateId("page");
    const ids = [`${base}:c`, `${base}.a`, `${base}-b`, `${base}_d`, `${base}Z`];
    for (const id of ids) await createTemplate(user, { template_id: id, name: `Paged ${id}` });
    const first = await call("/api/v1/templates?mine=true&limit=2", { token: user.token });
    expect(first.status).toBe(200);
    const link = nextPath(first);
    expect(link).toMatch(/^\/api\/v1\/templates\?mine=true&limit=2&cursor=/);
    expect(await first.json<Template[]>()).toHaveLength(2);
    const all = await listAll(user, "/api/v1/templates?mine=true&limit=2");
    expect(all.pages).toBe(3);
    expect(all.items.map((t) => t.template_id)).toEqual([...ids].sort());
    const bad = await call("/api/v1/templates?cursor=not-a-cursor!", { token: user.token });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).code).toBe("invalid_cursor");
    const tooLong = btoa("x".repeat(65)).replaceAll("=", "");
    const refused = await call(`/api/v1/templates?cursor=${tooLong}`, { token: user.token });
    expect(refused.status).toBe(400);
    await refused.body?.cancel();
  });

  it("lets an agent's own token read public templates only", async () => {
    const user = await createUser();
    const own = await createTemplate(user, { name: "Owner only" });
    const agent = await registerAgent(user);
    if (!agent.token) throw new Error("The agent was registered without its own token");
    const hidden = await call(`/api/v1/templates/${own.template_id}`, { token: agent.token });
    expect(hidden.status).toBe(404);
    await hidden.body?.cancel();
    const { items } = await listAll({ ...user, token: agent.token }, "/api/v1/templates?limit=100");
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((t) => t.is_public && !t.is_mine)).toBe(true);
    expect(await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: agent.token })).toEqual(
      [],
    );
  });
});

describe("applying a template", () => {
  it("creates the task with the steps in order, the category, due_at and the rest, and counts it", async () => {
    const user = await createUser();
    const template = await createTemplate(user, {
      name: "Study session",
      category: "Academic",
      steps: [
        { description: "Open the notes", estimated_minutes: 2, leaf_type: "DIGITAL", short_label: "Open" },
        { description: "Read one page", estimated_minutes: 5, icon: "📖" },
        { description: "Write three questions", estimated_minutes: 4 },
      ],
    });
    // Ten o'clock on a day a month from now, written with a +02:00 offset: 08:00 UTC.
    const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const dueAt = `${day}T10:00:00+02:00`;
    const task = await callJson<Task & { category: string | null; description: string | null }>(
      `/api/v1/templates/${template.template_id}/apply`,
      201,
      {
        token: user.token,
        body: { due_at: dueAt, priority: "HIGH", tags: ["School"], description: "Chapter 4" },
      },
    );
    expect(task).toMatchObject({
      title: "Study session",
      description: "Chapter 4",
      category: "Academic",
      due_at: `${day}T08:00:00.000Z`,
      priority: "high",
      tags: ["school"],
      status: "pending",
      progress: { completed_steps: 0, total_steps: 3, percent: 0 },
    });
    expect(
      task.micro_steps?.map((s) => [s.position, s.description, s.estimated_minutes, s.leaf_type, s.status]),
    ).toEqual([
      [1, "Open the notes", 2, "DIGITAL", "pending"],
      [2, "Read one page", 5, "HUMAN", "pending"],
      [3, "Write three questions", 4, "HUMAN", "pending"],
    ]);
    expect(await getTask(user, task.task_id)).toEqual(task);
    expect(await timesApplied(template.template_id)).toBe(1);
    const event = await env.DB.prepare(
      "SELECT type, data FROM events WHERE user_id = ? AND type = 'task.created'",
    )
      .bind(user.id)
      .first<{ type: string; data: string }>();
    expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ task_id: task.task_id, step_count: 3 });

    // No body at all: the defaults; the count goes on.
    const bare = await callJson<Task & { category: string }>(
      `/api/v1/templates/${template.template_id}/apply`,
      201,
      { method: "POST", token: user.token },
    );
    expect(bare).toMatchObject({
      title: "Study session",
      category: "Academic",
      due_at: null,
      priority: "medium",
    });
    expect(await timesApplied(template.template_id)).toBe(2);
    const read = await callJson<Template>(`/api/v1/templates/${template.template_id}`, 200, {
      token: user.token,
    });
    expect(read.times_applied).toBe(2);
  });

  it("applies a built-in template with a title of the caller's and rejects a bad body with 422", async () => {
    const user = await createUser();
    const before = (await timesApplied("tpl_clean_the_kitchen")) ?? 0;
    const task = await callJson<Task & { category: string }>(
      "/api/v1/templates/tpl_clean_the_kitchen/apply",
      201,
      {
        token: user.token,
        body: { title: "Kitchen before guests" },
      },
    );
    const code = DEFAULT_TEMPLATES.find((t) => t.id === "tpl_clean_the_kitchen");
    expect(task.title).toBe("Kitchen before guests");
    expect(task.category).toBe("Personal");
    expect(task.micro_steps?.map((s) => s.description)).toEqual(code?.steps.map((s) => s.description));
    expect(await timesApplied("tpl_clean_the_kitchen")).toBe(before + 1);
    const bad = await call("/api/v1/templates/tpl_clean_the_kitchen/apply", {
      token: user.token,
      body: { due_at: "tomorrow", priority: "urgent" },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field).sort()).toEqual(["due_at", "priority"]);
    expect(await timesApplied("tpl_clean_the_kitchen")).toBe(before + 1);
  });
});

describe("retrying writes with an Idempotency-Key", () => {
  it("replays a create: one template, the same answer, and 422 for the key with another body", async () => {
    const user = await createUser();
    const body = { name: "Retry me", category: "Work", steps: templateSteps(2) };
    const headers = { "idempotency-key": "create-1" };
    const first = await call("/api/v1/templates", { token: user.token, body, headers });
    expect(first.status).toBe(201);
    const created = await first.json<Template>();
    const second = await call("/api/v1/templates", { token: user.token, body, headers });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(created);
    expect(await countTemplates("user_id", user.id)).toBe(1);
    const other = await call("/api/v1/templates", {
      token: user.token,
      body: { ...body, name: "Something else" },
      headers,
    });
    expect(other.status).toBe(422);
    expect((await problemOf(other)).code).toBe("idempotency_key_reused");
  });

  it("replays an apply: one task, counted once", async () => {
    const user = await createUser();
    const template = await createTemplate(user);
    const path = `/api/v1/templates/${template.template_id}/apply`;
    const headers = { "idempotency-key": "apply-1" };
    const first = await callJson<Task>(path, 201, { token: user.token, body: { title: "Once" }, headers });
    const res = await call(path, { token: user.token, body: { title: "Once" }, headers });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect(await res.json()).toEqual(first);
    expect(
      (await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token })).map((t) => t.task_id),
    ).toEqual([first.task_id]);
    expect(await timesApplied(template.template_id)).toBe(1);
    // The same key on another template is another request.
    const other = await call("/api/v1/templates/tpl_pay_a_bill/apply", {
      token: user.token,
      body: { title: "Once" },
      headers,
    });
    expect(other.status).toBe(422);
    expect((await problemOf(other)).code).toBe("idempotency_key_reused");
  });
});

describe("saving a task as a template", () => {
  const save = (user: TestUser, taskId: string, body?: unknown) =>
    call(`/api/v1/tasks/${taskId}/save-as-template`, { method: "POST", token: user.token, body });

  it("takes the task's steps in order (whatever their status), title and category", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Weekly review",
      category: "work",
      micro_steps: [
        { description: "Open the calendar", estimated_minutes: 2, leaf_type: "DIGITAL" },
        { description: "List three wins", estimated_minutes: 4, short_label: "Wins" },
        { description: "Pick next week's big three" },
      ],
    });
    const [first] = task.micro_steps ?? [];
    await completeStep(user, task.task_id, first?.step_id);
    const res = await save(user, task.task_id);
    expect(res.status).toBe(201);
    const template = await res.json<Template>();
    expect(template).toMatchObject({
      name: "Weekly review",
      category: "Work",
      is_public: false,
      is_mine: true,
      description: null,
      step_count: 3,
      total_estimated_minutes: 11,
    });
    expect(
      template.steps.map((s) => [s.position, s.description, s.estimated_minutes, s.leaf_type, s.short_label]),
    ).toEqual([
      [1, "Open the calendar", 2, "DIGITAL", null],
      [2, "List three wins", 4, "HUMAN", "Wins"],
      [3, "Pick next week's big three", 5, "HUMAN", null],
    ]);
    expect(
      await callJson<Template>(`/api/v1/templates/${template.template_id}`, 200, { token: user.token }),
    ).toEqual(template);
    // It is the owner's like any template: they can change and delete it.
    await callJson(`/api/v1/templates/${template.template_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { name: "Weekly review, mine" },
    });
    await callJson(`/api/v1/templates/${template.template_id}`, 204, { method: "DELETE", token: user.token });

    const named = await save(user, task.task_id, {
      name: "Review, shared",
      category: "PERSONAL",
      is_public: true,
      description: "Fridays",
    });
    expect(named.status).toBe(201);
    expect(await named.json()).toMatchObject({
      name: "Review, shared",
      category: "Personal",
      is_public: true,
      description: "Fridays",
      step_count: 3,
    });
  });

  it("answers 422 for a task without steps, with more than 10, or without any category", async () => {
    const user = await createUser();
    const empty = await createTask(user, { title: "Nothing yet", category: "Work" });
    const noSteps = await save(user, empty.task_id);
    expect(noSteps.status).toBe(422);
    expect((await problemOf(noSteps)).detail).toBe(
      "This task has no steps to save; add at least one step to it first.",
    );

    const big = await createTask(user, { title: "Big", category: "Work", micro_steps: templateSteps(11) });
    const tooMany = await save(user, big.task_id);
    expect(tooMany.status).toBe(422);
    const problem = await problemOf(tooMany);
    expect(problem.detail).toContain("at most 10 steps");
    expect(problem.detail).toContain("11");

    // New tasks are always filed (by the local categoriser when not by hand): cleared by hand, it has none.
    const uncategorised = await createTask(user, { title: "Loose", micro_steps: templateSteps(2) });
    await callJson(`/api/v1/tasks/${uncategorised.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { category: null },
    });
    const noCategory = await save(user, uncategorised.task_id, { name: "x" });
    expect(noCategory.status).toBe(422);
    expect((await problemOf(noCategory)).errors?.map((e) => e.field)).toEqual(["category"]);
    const fixed = await save(user, uncategorised.task_id, { category: "health" });
    expect(fixed.status).toBe(201);
    expect(await fixed.json()).toMatchObject({ name: "Loose", category: "Health", step_count: 2 });
    const badCategory = await save(user, uncategorised.task_id, { category: "Hobby" });
    expect(badCategory.status).toBe(422);
    await badCategory.body?.cancel();
    expect(await countTemplates("user_id", user.id)).toBe(1);
  });

  it("answers 404 for someone else's task exactly as for a missing one, and replays with a key", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const task = await createTask(alice, {
      title: "Alice secret task",
      category: "Work",
      micro_steps: templateSteps(2),
    });
    const theirs = await save(bob, task.task_id, { name: "stolen" });
    const missing = await save(bob, crypto.randomUUID(), { name: "stolen" });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    const [p1, p2] = [await problemOf(theirs), await problemOf(missing)];
    expect(comparable(p1)).toEqual(comparable(p2));
    expect(await countTemplates("user_id", bob.id)).toBe(0);

    const headers = { "idempotency-key": "save-1" };
    const first = await call(`/api/v1/tasks/${task.task_id}/save-as-template`, {
      token: alice.token,
      body: {},
      headers,
    });
    expect(first.status).toBe(201);
    const again = await call(`/api/v1/tasks/${task.task_id}/save-as-template`, {
      token: alice.token,
      body: {},
      headers,
    });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect(await countTemplates("user_id", alice.id)).toBe(1);
  });
});

describe("the /api/v1/task-templates alias", () => {
  it("answers the same routes over the same templates", async () => {
    const user = await createUser();
    const viaAlias = await callJson<Template>("/api/v1/task-templates", 201, {
      token: user.token,
      body: { name: "Alias made", category: "Creative", steps: templateSteps(1) },
    });
    expect(
      await callJson<Template>(`/api/v1/templates/${viaAlias.template_id}`, 200, { token: user.token }),
    ).toEqual(viaAlias);
    const viaMain = await createTemplate(user, { name: "Main made" });
    expect(
      await callJson<Template>(`/api/v1/task-templates/${viaMain.template_id}`, 200, { token: user.token }),
    ).toEqual(viaMain);
    expect(
      await callJson<Template[]>("/api/v1/task-templates?mine=true", 200, { token: user.token }),
    ).toEqual(await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: user.token }));
    const patched = await callJson<Template>(`/api/v1/task-templates/${viaMain.template_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { name: "Patched via alias" },
    });
    expect(patched.name).toBe("Patched via alias");
    const task = await callJson<Task>(`/api/v1/task-templates/${viaMain.template_id}/apply`, 201, {
      method: "POST",
      token: user.token,
    });
    expect(task.title).toBe("Patched via alias");
    const gone = await call(`/api/v1/task-templates/${viaAlias.template_id}`, {
      method: "DELETE",
      token: user.token,
    });
    expect(gone.status).toBe(204);
    const res = await call(`/api/v1/templates/${viaAlias.template_id}`, { token: user.token });
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });

  it("is documented beside /api/v1/templates in the OpenAPI document", async () => {
    const doc = await openApiDocument();
    for (const prefix of ["/api/v1/templates", "/api/v1/task-templates"]) {
      expect(Object.keys(doc.paths[prefix] ?? {}).sort(), prefix).toEqual(["get", "post"]);
      expect(Object.keys(doc.paths[`${prefix}/{template_id}`] ?? {}).sort(), prefix).toEqual([
        "delete",
        "get",
        "patch",
      ]);
      expect(Object.keys(doc.paths[`${prefix}/{template_id}/steps`] ?? {}), prefix).toEqual(["put"]);
      expect(Object.keys(doc.paths[`${prefix}/{template_id}/apply`] ?? {}), prefix).toEqual(["post"]);
    }
    expect(Object.keys(doc.paths["/api/v1/tasks/{task_id}/save-as-template"] ?? {})).toEqual(["post"]);
    for (const name of ["TaskTemplate", "TemplateStep", "CreateTemplateRequest", "ApplyTemplateRequest"]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });
});
