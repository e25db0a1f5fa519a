import { env } from "cloudflare:workers";
import type { TaskDto } from "../../src/features/tasks/schemas";
import { IMPORTS_MAX_RETRIES } from "../../src/jobs/imports-consumer";
import { callJson, createUser, type TestUser } from "./api";
import { registerAgent } from "./delegation";
import { download, exportAccount } from "./export";
import { ledgerOf, profileOf } from "./gamification";
import {
  allTasks,
  commit,
  drainImports,
  getImport,
  type Import,
  type ImportMessage,
  runImportQueue,
  upload,
} from "./imports";
import { settle } from "./outbox";
import { adoptPet, careFor, giveTreats, petOf } from "./pets";
import { spyOnBatches } from "./sql-spy";
import { completeStep, completeTask, createTask } from "./tasks";
import { createTemplate } from "./templates";

/**
 * Waits until nothing more is on its way to the user's rows and pet: every event delivered (handlers
 * write XP, rollups, notifications and feed the pet in the background), and the counts still.
 */
export async function settleAll(user: TestUser): Promise<void> {
  let last = "";
  for (let round = 0; round < 40; round++) {
    await settle(user.id);
    const row = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM events WHERE user_id = ?1 AND delivered_at IS NULL) AS e,
              (SELECT count(*) FROM notifications WHERE user_id = ?1) AS n,
              (SELECT count(*) FROM xp_ledger WHERE user_id = ?1) AS x,
              (SELECT count(*) FROM pet_interactions WHERE user_id = ?1) AS p,
              (SELECT coalesce(max(updated_at), '') FROM analytics_rollups WHERE user_id = ?1) AS r`,
    )
      .bind(user.id)
      .first<{ e: number }>();
    const now = JSON.stringify(row);
    if (now === last && row?.e === 0) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface SeedOptions {
  /** Extra tasks with steps (a generated account's size). */
  tasks?: { title: string; steps: string[]; done: number; after?: number }[];
  pet?: boolean;
}

/**
 * An account with a bit of everything, built through the API: tasks with steps and a dependency,
 * completed work (XP, a badge, a streak), a template, focus settings, a pet fed and cared for, a
 * webhook, an energy check-in.
 */
export async function seedAccount(user: TestUser, options: SeedOptions = {}): Promise<void> {
  if (options.pet !== false) await adoptPet(user, { species: "owl", name: "Hoot" });
  const first = await createTask(user, {
    title: "Plan the party",
    priority: "high",
    tags: ["home", "fun"],
    micro_steps: [{ description: "Book the venue" }, { description: "Invite everyone" }],
  });
  const second = await createTask(user, { title: "Clean up after", depends_on: [first.task_id] });
  const third = await createTask(user, { title: "Water the plants", priority: "low" });
  await completeStep(user, first.task_id, first.micro_steps?.[0]?.step_id ?? "");
  await completeTask(user, third.task_id);
  const made: TaskDto[] = [];
  for (const spec of options.tasks ?? []) {
    const after = spec.after === undefined ? undefined : made[spec.after % Math.max(made.length, 1)];
    const task = await createTask(user, {
      title: spec.title,
      micro_steps: spec.steps.map((description) => ({ description })),
      ...(after ? { depends_on: [after.task_id] } : {}),
    });
    for (const step of (task.micro_steps ?? []).slice(0, spec.done))
      await completeStep(user, task.task_id, step.step_id);
    made.push(task);
  }
  void second;
  await createTemplate(user, { name: "Morning", category: "Health", steps: [{ description: "Stretch" }] });
  await callJson("/api/v1/focus/enhanced/settings", 200, {
    method: "PATCH",
    token: user.token,
    body: { pomodoro_work_minutes: 40, long_break_every: 3 },
  });
  // An agent under a name the client chose: a restore keeps it (assignments and tasks say it).
  await registerAgent(user, { agent_id: "backend-agent-1" });
  await callJson("/api/v1/webhooks", 201, {
    token: user.token,
    body: { url: "https://hooks.example.com/in", event_types: ["task.completed"] },
  });
  await settleAll(user);
  if (options.pet !== false) {
    await giveTreats(user, 30);
    await careFor(user, "feed", { xp_amount: 20 });
  }
  await settleAll(user);
}

function taskView(task: TaskDto, byId: Map<string, TaskDto>) {
  return {
    title: task.title,
    status: task.status,
    priority: task.priority,
    tags: task.tags,
    description: task.description,
    due_at: task.due_at,
    parent: task.parent_task_id ? (byId.get(task.parent_task_id)?.title ?? "?") : null,
    depends_on: task.depends_on.map((id) => byId.get(id)?.title ?? "?").sort(),
    steps: (task.micro_steps ?? []).map((s) => ({ description: s.description, status: s.status })),
  };
}

/** What a person sees of their account, without ids: the restore must give the same. */
export async function restoreView(user: TestUser) {
  const tasks = await allTasks(user);
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const templates = await callJson<{ name: string; steps: { description: string }[] }[]>(
    "/api/v1/templates",
    200,
    {
      token: user.token,
    },
  );
  const settings = await callJson<Record<string, unknown>>("/api/v1/focus/enhanced/settings", 200, {
    token: user.token,
  });
  const profile = await profileOf(user);
  const badges = await callJson<{ badge_id: string; unlocked: boolean }[] | { badges: unknown[] }>(
    "/api/v1/gamification/badges",
    200,
    { token: user.token },
  );
  let pet: Record<string, unknown> | null = null;
  try {
    const p = await petOf(user);
    pet = {
      name: p.name,
      species: p.species,
      level: p.level,
      xp: p.xp,
      total_xp: p.total_xp,
      evolution_stage: p.evolution_stage,
      treats: p.treats,
      personality: p.personality,
      hunger: Math.round(p.hunger),
      happiness: Math.round(p.happiness),
    };
  } catch {
    pet = null;
  }
  // Rows the API views above leave out, as stored (agents by their client-chosen names).
  const list = async (query: string) =>
    (await env.DB.prepare(query).bind(user.id).all<{ v: string | number }>()).results.map((r) => r.v).sort();
  const rows = {
    agents: await list("SELECT agent_id AS v FROM agents WHERE user_id = ?"),
    webhooks: await list("SELECT url AS v FROM webhooks WHERE user_id = ?"),
    focus_sessions: await list("SELECT actual_seconds AS v FROM focus_sessions WHERE user_id = ?"),
    pet_interactions: await list("SELECT kind AS v FROM pet_interactions WHERE user_id = ?"),
    assignments: await list("SELECT agent_id AS v FROM task_assignments WHERE user_id = ?"),
  };
  return {
    rows,
    tasks: tasks.map((t) => taskView(t, byId)).sort((a, b) => a.title.localeCompare(b.title)),
    templates: templates.map((t) => ({ name: t.name, steps: t.steps.map((s) => s.description) })),
    settings,
    xp: {
      total: profile.total_xp,
      level: profile.level,
      week: profile.week_xp,
      badges: profile.badges_unlocked,
    },
    streak: { current: profile.streak.current_days, longest: profile.streak.longest_days },
    ledger: (await ledgerOf(user)).map((l) => `${l.source}:${l.amount}`).sort(),
    badges,
    pet,
  };
}

/** Tables a restore job writes about itself (the import's own row): left out of account snapshots. */
const JOB_TABLES = new Set(["imports", "import_items"]);

let ownedTables: string[] | null = null;

/** Every table with a `user_id` column, from the database itself (so a table added later is in). */
async function tablesWithUser(): Promise<string[]> {
  if (ownedTables) return ownedTables;
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
  ).all<{ name: string }>();
  const out: string[] = [];
  for (const { name } of tables.results) {
    const columns = await env.DB.prepare("SELECT name FROM pragma_table_info(?)")
      .bind(name)
      .all<{ name: string }>();
    if (columns.results.some((c) => c.name === "user_id") && !JOB_TABLES.has(name)) out.push(name);
  }
  ownedTables = out.sort();
  return ownedTables;
}

/**
 * An event without its delivery bookkeeping: the background queue may deliver it again at any moment
 * (delivery is at least once), which is no change to the account.
 */
function withoutDelivery(row: Record<string, unknown>): Record<string, unknown> {
  const { delivered_at: _delivered, send_attempts: _attempts, last_sent_at: _sent, ...rest } = row;
  return rest;
}

/**
 * Every row the user owns, table by table (and the steps of their templates), sorted: two snapshots
 * are equal when the account is exactly as it was.
 */
export async function accountRows(userId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of await tablesWithUser()) {
    const rows = await env.DB.prepare(`SELECT * FROM "${table}" WHERE user_id = ?`).bind(userId).all();
    out[table] = rows.results.map((r) => JSON.stringify(table === "events" ? withoutDelivery(r) : r)).sort();
  }
  const steps = await env.DB.prepare(
    "SELECT s.* FROM template_steps s JOIN task_templates t ON t.id = s.template_id WHERE t.user_id = ?",
  )
    .bind(userId)
    .all();
  out.template_steps = steps.results.map((r) => JSON.stringify(r)).sort();
  return out;
}

/** Rows of any table whose owner is a restore's staging owner (none once it completed or was discarded). */
export async function stagedRows(userId: string, importId: string): Promise<number> {
  let n = 0;
  for (const table of await tablesWithUser()) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${table}" WHERE user_id = ?`)
      .bind(`restore:${userId}:${importId}`)
      .first<{ n: number }>();
    n += row?.n ?? 0;
  }
  return n;
}

export interface ExportDocument {
  account: Record<string, unknown>;
  tables: Record<string, Record<string, unknown>[]>;
  live: Record<string, unknown>;
  summary: { rows: number; counts: Record<string, number> };
  [key: string]: unknown;
}

/**
 * An export file changed by `change` (a crafted file, as anyone may write one), its summary's counts
 * made to match again so only the change itself can be refused.
 */
export function craftExport(file: string, change: (doc: ExportDocument) => void): string {
  const doc = JSON.parse(file) as ExportDocument;
  change(doc);
  let rows = 0;
  for (const [table, list] of Object.entries(doc.tables)) {
    doc.summary.counts[table] = list.length;
    rows += list.length;
  }
  doc.summary.rows = rows;
  return JSON.stringify(doc);
}

/** Uploads an export file (or `{download_url}`) for a restore; answers the raw response. */
export function uploadRestore(
  user: TestUser,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  return upload(user, "export", body, {
    headers: { "content-type": "application/octet-stream", ...headers },
  });
}

/** The preview of a restore the file must pass; any other answer fails the test with its body. */
export async function previewRestore(user: TestUser, body: string | Uint8Array): Promise<Import> {
  const res = await uploadRestore(user, body);
  const text = await res.text();
  if (res.status !== 201) throw new Error(`restore upload: ${res.status} ${text}`);
  return JSON.parse(text) as Import;
}

/** Previews, commits and runs a restore to its end; answers the preview and the finished import. */
export async function restoreFile(
  user: TestUser,
  body: string | Uint8Array,
  mode: "merge" | "replace" = "merge",
): Promise<{ previewed: Import; done: Import }> {
  const previewed = await previewRestore(user, body);
  const { sent } = await commit(user, previewed.import_id, mode);
  await drainImports(sent);
  await settleAll(user);
  return { previewed, done: await getImport(user, previewed.import_id) };
}

/** The rows of one table of a parsed export file (a crafted file's test fails if the table is gone). */
export function tableOf(doc: ExportDocument, table: string): Record<string, unknown>[] {
  const rows = doc.tables[table];
  if (!rows) throw new Error(`no table ${table} in the file`);
  return rows;
}

export function firstRow(doc: ExportDocument, table: string): Record<string, unknown> {
  const row = tableOf(doc, table)[0];
  if (!row) throw new Error(`no row in ${table}`);
  return row;
}

/**
 * A D1 whose batches fail at the restore's commit point (the batch that first reads staging and account
 * together): a job that fails before anything of it shows, whatever makes it fail.
 */
export function failingCommitPoint(db: D1Database): D1Database {
  return spyOnBatches(db, (texts, run) =>
    texts.some((t) => /UPDATE tasks SET parent_task_id = NULL WHERE user_id/.test(t))
      ? Promise.reject(new Error("D1_ERROR: the commit point fails (test)"))
      : run(),
  );
}

/** Commits and runs a restore whose commit point always fails, until the job has failed; answers its id. */
export async function failAtTheEnd(user: TestUser, body: string, mode: "merge" | "replace" = "merge") {
  const previewed = await previewRestore(user, body);
  const { sent } = await commit(user, previewed.import_id, mode);
  const DB = failingCommitPoint(env.DB);
  let next: ImportMessage[] = sent;
  for (let i = 0; i < 100 && next.length > 0; i++) {
    const run = await runImportQueue(next, 1, {}, { DB });
    if (run.result.retryMessages.length > 0) {
      await runImportQueue(next, IMPORTS_MAX_RETRIES + 1, {}, { DB });
      break;
    }
    next = run.sent as ImportMessage[];
  }
  const status = (await getImport(user, previewed.import_id)).status;
  if (status !== "failed") throw new Error(`the restore should have failed, it is ${status}`);
  return previewed.import_id;
}

/**
 * An export of one task with `steps` steps (a file whose staging takes many rows), as a person would
 * never make it through the API quickly: the steps are added to a genuine export, its counts made true.
 */
export async function fileWithSteps(steps: number): Promise<string> {
  const source = await createUser();
  await createTask(source, { title: "parent", micro_steps: [{ description: "s0" }] });
  await settleAll(source);
  const done = await exportAccount(source, "json");
  return craftExport(await (await download(done.download_url ?? "")).text(), (doc) => {
    const rows = tableOf(doc, "micro_steps");
    const step = rows[0] ?? {};
    for (let i = 1; i < steps; i++)
      rows.push({ ...step, id: crypto.randomUUID(), description: `s${i}`, position: i + 1 });
  });
}

/** An account with a pet of its own (a cat, "Mine") and focus settings of its own (33 minutes), settled. */
export async function withOwnPetAndFocus(): Promise<TestUser> {
  const user = await createUser();
  await adoptPet(user, { species: "cat", name: "Mine" });
  await callJson("/api/v1/focus/enhanced/settings", 200, {
    method: "PATCH",
    token: user.token,
    body: { pomodoro_work_minutes: 33 },
  });
  await settleAll(user);
  return user;
}
