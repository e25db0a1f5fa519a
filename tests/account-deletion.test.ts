import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { FORGET_MS } from "../durable-objects/leaderboard-shard";
import { type LiveStorage, TOMBSTONE } from "../durable-objects/live-storage";
import { OutboxWriter } from "../durable-objects/outbox-writer";
import { createDatabase } from "../src/db";
import { erasePlan, eraseStatements, unclassifiedTables } from "../src/features/account/erase-plan";
import { boundedDelete, runErasePlan } from "../src/features/account/erase-run";
import { RESWEEP_DELAY_SECONDS } from "../src/features/account/erasure";
import { eraseUserFiles } from "../src/features/account/files";
import type { ErasureMessage } from "../src/features/account/messages";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import { sendEntries } from "../src/features/gamification/leaderboard";
import { weekStartOf } from "../src/features/gamification/progress";
import { claimRun, startRun } from "../src/features/learning/runs";
import { trainTaken } from "../src/features/learning/training";
import { writeNotifications } from "../src/features/notifications/delivery";
import worker, { CRONS, QUEUE_NAMES } from "../src/index";
import { consumeEvents } from "../src/jobs/events-consumer";
import { accountLookup } from "../src/lib/auth/account";
import { routeOutbound } from "./fakes/outbound";
import { createFakePushService } from "./fakes/push-service";
import {
  BASE,
  call,
  callJson,
  callWith,
  createUser,
  problemOf,
  type TestUser,
  testAddress,
} from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { createFeed, feedText, icsFile, icsUtc, importIcs, vevent } from "./helpers/calendar";
import { freezeClock } from "./helpers/clock";
import { countingD1, tripsFor } from "./helpers/counting-d1";
import { delegate, registerAgent } from "./helpers/delegation";
import { exportAccount } from "./helpers/export";
import { focusAction, openSocket, startFocus, type TestSocket, timerOf } from "./helpers/focus";
import { allTasks, importFile, preview } from "./helpers/imports";
import { markActive, trainNow } from "./helpers/learning";
import { notify, notifyMessage } from "./helpers/notifications";
import { deliver, eventsOf, runEventsQueue, settle } from "./helpers/outbox";
import { adoptPet, giveTreats, PET_CHANNEL, petObject } from "./helpers/pets";
import { putProfile, share } from "./helpers/social";
import { completeStep, createTask, getTask, type Task } from "./helpers/tasks";
import { createTemplate, uniqueTemplateId } from "./helpers/templates";
import { completedEvent, fanOut, receiver, runWebhooksQueue, subscribe } from "./helpers/webhooks";

const DAY_MS = 86_400_000;

/** The route under test, as a client sends it. */
const deleteAccount = (token: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  call("/api/v1/auth/me", { method: "DELETE", token, body, headers });

// ---- reading every table ----

/** Every table of the database, found by asking it (a table added later is read too). */
async function allTables(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' " +
      "AND name NOT LIKE 'd1\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
  ).all<{ name: string }>();
  return results.map((r) => r.name);
}

async function columnsOf(table: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?)`)
    .bind(table)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

/**
 * Where any of `needles` appears, in any column of any table: "table: needle ×count" lines. Every
 * column is read as text, so ids inside JSON, keys ("account:<email>") and bodies are found too.
 */
async function traces(needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const table of await allTables()) {
    const columns = await columnsOf(table);
    const anyColumn = columns.map((c) => `instr(CAST(t."${c}" AS TEXT), n.value) > 0`).join(" OR ");
    const { results } = await env.DB.prepare(
      `SELECT n.value AS needle, count(*) AS hits FROM "${table}" AS t, json_each(?) AS n WHERE ${anyColumn} GROUP BY n.value`,
    )
      .bind(JSON.stringify(needles))
      .all<{ needle: string; hits: number }>();
    for (const r of results) found.push(`${table}: ${r.needle} ×${r.hits}`);
  }
  return found;
}

/** Per table, how many rows mention `needle` (a user's id): a fingerprint of what they hold. */
async function rowsMentioning(needle: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of await traces([needle])) {
    const [table, rest] = line.split(": ");
    counts[table ?? ""] = Number(rest?.split("×")[1]);
  }
  return counts;
}

/** The fingerprint once background work (queues delivering on their own) has stopped changing it. */
async function settledRows(needle: string): Promise<Record<string, number>> {
  let last = await rowsMentioning(needle);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await rowsMentioning(needle);
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  return last;
}

// ---- building a full account through the API ----

interface FullAccount {
  user: TestUser;
  /** A string written into the account's own words (titles, names, notes). */
  marker: string;
  apiToken: string;
  agentToken: string;
  agentId: string;
  /** A template of theirs shared by code (plain words: a copy another account imports is that account's). */
  sharedTemplateId: string;
  templateCode: string;
  /** Everything the account owns that has an id, for the search. */
  ids: string[];
}

let accounts = 0;

async function fullAccount(): Promise<FullAccount> {
  accounts += 1;
  const marker = `m${crypto.randomUUID().replaceAll("-", "")}`;
  const user = await createUser();
  const ids: string[] = [];
  const own = <T>(value: T, ...found: (string | undefined | null)[]) => {
    for (const id of found) if (id) ids.push(id);
    return value;
  };
  const auth = { token: user.token };

  // Tasks, steps, a dependency, an idempotent create, a completed step (XP, streak, challenges, badges).
  const first = await createTask(user, {
    title: `${marker} write the report`,
    description: `${marker} notes`,
    due_at: new Date(Date.now() + 2 * DAY_MS).toISOString(),
    estimated_minutes: 30,
    micro_steps: [{ description: `${marker} open the doc` }, { description: "Outline" }],
  });
  own(first, first.task_id, ...(first.micro_steps ?? []).map((s) => s.step_id));
  const second = await callJson<Task>("/api/v1/tasks", 201, {
    ...auth,
    body: { title: `${marker} send it`, depends_on: [first.task_id] },
    headers: { "idempotency-key": `key-${marker}` },
  });
  own(second, second.task_id);
  await completeStep(user, first.task_id, first.micro_steps?.[0]?.step_id);
  // A split applied, and a step rated: splits, feedback, split preferences.
  await callJson(`/api/v1/tasks/split/${second.task_id}`, 200, {
    ...auth,
    body: { apply: true, splitter: "local" },
  });
  const split = await getTask(user, second.task_id);
  own(split, ...(split.micro_steps ?? []).map((s) => s.step_id));
  await callJson(`/api/v1/tasks/${first.task_id}/steps/${first.micro_steps?.[1]?.step_id}/feedback`, 200, {
    ...auth,
    body: { rating: "just_right", actual_minutes: 4 },
  });

  // Templates: one made, one saved from a task (public, so others could apply it).
  const template = await createTemplate(user, { name: `${marker} routine`, template_id: uniqueTemplateId() });
  own(template, template.template_id);
  const saved = await callJson<{ template_id: string }>(
    `/api/v1/tasks/${first.task_id}/save-as-template`,
    201,
    { ...auth, body: { name: `${marker} saved`, is_public: true } },
  );
  own(saved, saved.template_id);
  // One shared by code, for others to import (`crossImport`); its words are plain, since a copy is
  // the importer's own.
  const shared = await createTemplate(user, { name: "Shared routine", template_id: uniqueTemplateId() });
  own(shared, shared.template_id);
  const { code: templateCode } = await callJson<{ code: string }>(
    `/api/v1/templates/${shared.template_id}/share`,
    201,
    { method: "POST", ...auth },
  );
  own(templateCode, templateCode);

  // Credentials: an API token, a second login, an agent with its token and an assignment.
  const apiToken = await createApiToken(user.token, { name: `${marker} script`, scopes: ["tasks:read"] });
  own(apiToken, apiToken.id);
  await callJson("/api/v1/auth/login", 200, {
    body: { email: user.email, password: user.password },
    headers: { "cf-connecting-ip": testAddress() },
  });
  const agent = await registerAgent(user, { agent_id: `agent-${marker}` });
  const delegated = await createTask(user, { title: `${marker} delegated` });
  own(delegated, delegated.task_id);
  const delegation = await delegate(user, {
    task_id: delegated.task_id,
    delegation_mode: "DELEGATE",
    prefer_agent_type: "backend-tdd",
  });
  own(delegation, delegation.assignment?.assignment_id);

  // Focus: settings, a finished session (its record in D1), and one left running (alarm armed).
  await callJson("/api/v1/focus/enhanced/settings", 200, {
    method: "PATCH",
    ...auth,
    body: { pomodoro_work_minutes: 30 },
  });
  const started = await startFocus(user, { kind: "pomodoro", task_id: first.task_id });
  own(started, started.session?.session_id);
  await focusAction(user, "finish", { take_break: false });
  const running = await startFocus(user, { kind: "deep_work" });
  own(running, running.session?.session_id);

  // A pet fed by work and by hand; the leaderboards joined.
  const pet = await adoptPet(user, { name: `Pip${accounts}` });
  own(pet, pet.pet_id);
  await giveTreats(user, 10);
  await callJson("/api/v1/pets/me/feed", 200, { ...auth, body: { xp_amount: 5 } });
  await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
    method: "PUT",
    ...auth,
    body: { opt_in: true, display_name: `Board ${accounts}` },
  });

  // A moment shared (its public page and card) and a public profile showing the person's work.
  const moment = await share(user, { kind: "task", ref_id: first.task_id });
  own(moment, moment.share_id, moment.code);
  const handle = `h_${marker.slice(1, 20)}`;
  await putProfile(user, {
    handle,
    public: true,
    showcase: [{ kind: "level" }, { kind: "task", task_id: first.task_id }],
  });
  own(handle, handle);

  // Energy check-in; notifications with preferences, a browser and a phone to push to.
  await callJson("/api/v1/analytics/energy", 201, { ...auth, body: { level: "high" } });
  await callJson("/api/v1/notifications/preferences", 200, {
    method: "PUT",
    ...auth,
    body: { daily_cap: 15 },
  });
  const pushHost = `a${accounts}.push.fake.test`;
  const push = createFakePushService(pushHost);
  routeOutbound(pushHost, push.handle);
  const subscription = await push.subscribe({ applicationServerKey: env.VAPID_PUBLIC_KEY ?? "" });
  await callJson("/api/v1/notifications/push-subscriptions", 201, { ...auth, body: subscription });
  own(subscription, subscription.endpoint);
  const device = await callJson<{ device_id: string }>("/api/v1/notifications/devices", 201, {
    ...auth,
    body: { expo_push_token: `ExponentPushToken[${marker}]`, platform: "ios" },
  });
  own(device, device.device_id);
  await notify(user, { title: `${marker} level up`, kind: "celebration" });

  // A webhook with a delivery and its attempt; a calendar feed read; an .ics imported.
  const hookHost = `hooks${accounts}.example.com`;
  receiver(hookHost);
  const hook = await subscribe(user, `https://${hookHost}/in`, ["task.completed"]);
  own(hook, hook.webhook_id);
  const completed = await completedEvent(user.id);
  own(completed, completed.id);
  await runWebhooksQueue(await fanOut([completed]));
  const feed = await createFeed(user);
  await feedText(feed.url);
  const at = Date.now() + DAY_MS;
  await importIcs(
    user,
    icsFile(
      vevent({
        UID: `uid-${marker}`,
        SUMMARY: `${marker} dentist`,
        DTSTART: icsUtc(at),
        DTEND: icsUtc(at + 3_600_000),
      }),
    ),
  );

  // Learning: a nightly training, a prediction answered.
  await markActive(user.id);
  await trainNow(user.id);
  await callJson(`/api/v1/predictions/duration?task_id=${first.task_id}`, 200, auth);

  // An export (its row and its file under exports/<id>/) and a Todoist import committed (its row, its
  // items, the tasks it made and its file parts under imports/<id>/).
  const exported = await exportAccount(user);
  own(exported, exported.export_id);
  const todoist = [
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG",
    `task,${marker} pay the bill,${marker} last letter,1,1,,,,en,,15,minute,,`,
    `task,${marker} book the car,,2,1,,,,en,,,,,`,
  ].join("\n");
  const imported = await importFile(user, "todoist", todoist);
  if (imported.status !== "completed") throw new Error(`the import ended ${imported.status}`);
  own(imported, imported.import_id);
  for (const task of await allTasks(user))
    if (task.title.startsWith(`${marker} pay`)) own(task, task.task_id);
  // A second one previewed and left waiting: its parts stay in R2 until it is committed or expires.
  const waiting = await preview(user, "todoist", todoist);
  own(waiting, waiting.import_id);

  // A dead letter carrying the user's payload, a failed login.
  const deadLetters = createMessageBatch<unknown>("pap-dead-letters", [
    { id: `dl-${marker}`, timestamp: new Date(), attempts: 6, body: notifyMessage(user, { title: marker }) },
  ]);
  await worker.queue(deadLetters, env);
  await call("/api/v1/auth/login", {
    body: { email: user.email, password: "not the password" },
    headers: { "cf-connecting-ip": testAddress() },
  });

  await settle(user.id);
  for (const event of await eventsOf(user.id)) ids.push(event.id);
  const agentToken = agent.token;
  if (!agentToken) throw new Error("the agent was registered without a token");
  return {
    user,
    marker,
    apiToken: apiToken.token,
    agentToken,
    agentId: agent.agent_id,
    sharedTemplateId: shared.template_id,
    templateCode,
    ids,
  };
}

/** Each account imports the other's shared template by code; then both own every template's global id. */
async function crossImport(a: FullAccount, b: FullAccount): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    await callJson("/api/v1/templates/import", 201, {
      token: to.user.token,
      body: { code: from.templateCode },
    });
  }
  for (const account of [a, b]) account.ids.push(...(await templateIdsOf(account.user.id)));
}

/** The server's ids of the user's templates (share records name templates by these). */
async function templateIdsOf(userId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM task_templates WHERE user_id = ?")
    .bind(userId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** The share of the user's template as its owner sees it (uses: people who imported it). */
const templateShareOf = (user: TestUser, templateId: string) =>
  callJson<{ share: { uses: number } | null }>(`/api/v1/templates/${templateId}`, 200, {
    token: user.token,
  }).then((t) => t.share);

/** What may identify the account anywhere: its id, email, own words and the ids of what it owns. */
const needlesOf = (a: FullAccount) => [a.user.id, a.user.email, a.marker, ...a.ids];

/** Tables every full account has rows in (its build reaches each of them). */
const FULL_ACCOUNT_TABLES = [
  "activity_days",
  "agents",
  "analytics_rollups",
  "api_tokens",
  "calendar_feed_items",
  "calendar_feeds",
  "calendar_imports",
  "challenge_progress",
  "dead_letters",
  "energy_checkins",
  "event_receipts",
  "events",
  "exports",
  "focus_sessions",
  "focus_settings",
  "gamification_stats",
  "idempotency_keys",
  "import_items",
  "imports",
  "learning_runs",
  "login_throttles",
  "micro_steps",
  "notification_preferences",
  "notifications",
  "pet_interactions",
  "push_devices",
  "push_subscriptions",
  "refresh_tokens",
  "social_profiles",
  "social_shares",
  "split_preferences",
  "step_feedback",
  "task_assignments",
  "task_dependencies",
  "task_splits",
  "task_templates",
  "tasks",
  "template_share_uses",
  "template_shares",
  "template_steps",
  "user_pets",
  "user_progress",
  "users",
  "webhook_attempts",
  "webhook_deliveries",
  "webhooks",
  "xp_ledger",
];

const tablesOf = (lines: string[]) => [...new Set(lines.map((l) => l.split(":")[0]))].sort();

/**
 * Runs the DO's storage through SQL: how many rows each of its tables holds, leaving out the two meta
 * keys that say nothing of anyone (its schema version, and the tombstone of an erased account).
 */
async function storedIn(stub: DurableObjectStub): Promise<Record<string, number>> {
  return runInDurableObject(stub, async (_instance, state) => {
    const counts: Record<string, number> = {};
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray();
    for (const { name } of tables) {
      const where = name === "meta" ? ` WHERE key NOT IN ('schema_version', '${TOMBSTONE}')` : "";
      counts[name] = state.storage.sql
        .exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"${where}`)
        .one().n;
    }
    return counts;
  });
}

/** Whether the object keeps the tombstone of an erased account. */
const tombstoned = (stub: DurableObjectStub) =>
  runInDurableObject(
    stub,
    async (_instance, state) =>
      state.storage.sql.exec("SELECT 1 FROM meta WHERE key = ?", TOMBSTONE).toArray().length > 0,
  );

/** Every row the object stores, each as text: the tombstone must hold nothing of the person. */
const everythingIn = (stub: DurableObjectStub) =>
  runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray();
    return tables.flatMap(({ name }) =>
      state.storage.sql
        .exec(`SELECT * FROM "${name}"`)
        .toArray()
        .map((row) => `${name}: ${JSON.stringify(row)}`),
    );
  });

const shardStub = (i: number) => env.LEADERBOARD.get(env.LEADERBOARD.idFromName(`leaderboard-shard-${i}`));
const shardCount = () => Number(env.LEADERBOARD_SHARDS ?? 4);

async function boardScores(userId: string) {
  const week = weekStartOf(Date.now());
  return Promise.all(
    Array.from({ length: shardCount() }, async (_, i) => [
      await shardStub(i).score("all_time", week, userId),
      await shardStub(i).score("weekly", week, userId),
    ]),
  ).then((rows) => rows.flat().filter((r) => r !== null));
}

async function filesOf(userId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`exports/${userId}/`, `imports/${userId}/`]) {
    keys.push(...(await env.FILES.list({ prefix })).objects.map((o) => o.key));
  }
  return keys;
}

/** A D1 binding (and its sessions) that runs `before` ahead of every batch, with the batch's size. */
function beforeBatches<T extends D1Database | D1DatabaseSession>(
  binding: T,
  before: (statements: number) => Promise<void>,
): T {
  return new Proxy(binding, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await before(statements.length);
          return target.batch(statements);
        };
      }
      if (prop === "withSession") {
        return (...args: unknown[]) =>
          beforeBatches((target as D1Database).withSession(...(args as [string])), before);
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A D1 binding that deletes the account just before its `nth` batch: a deletion racing a writer. */
function deletingBeforeBatch(userId: string, nth: number): D1Database {
  let batches = 0;
  return beforeBatches(env.DB, async () => {
    batches += 1;
    if (batches === nth) await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(userId).run();
  });
}

// ---- queues, cron and counted calls ----

/** What a fake erasure queue was sent. */
interface Sent {
  body: ErasureMessage;
  delaySeconds: number | undefined;
}

/** An erasure queue that keeps what it is sent (instead of delivering it). */
function capturingQueue(sent: Sent[]): Queue<ErasureMessage> {
  return {
    async send(body: ErasureMessage, options?: QueueSendOptions) {
      sent.push({ body, delaySeconds: options?.delaySeconds });
    },
    async sendBatch(messages: Iterable<MessageSendRequest<ErasureMessage>>) {
      for (const m of messages) sent.push({ body: m.body, delaySeconds: m.delaySeconds });
    },
  } as unknown as Queue<ErasureMessage>;
}

/** Hands these messages to the Worker as one delivery of the erasure queue; what it acked and retried. */
async function runErasureQueue(bodies: readonly unknown[], bindings: Partial<typeof env> = {}) {
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.erasure,
    bodies.map((body) => ({
      id: `erasure-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...bindings });
  await waitOnExecutionContext(ctx);
  return getQueueResult(batch, ctx);
}

/** Runs the five-minute cron as the runtime would (housekeeping, which resumes deletions, among it). */
async function runFiveMinuteCron(): Promise<void> {
  const ctx = createExecutionContext();
  const controller = createScheduledController({ scheduledTime: new Date(), cron: CRONS.everyFiveMinutes });
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

/** One request with these bindings, its D1 round trips counted until the answer is complete. */
async function countedCall(
  bindings: Partial<typeof env>,
  path: string,
  options: { token: string; body?: unknown; method?: string },
): Promise<{ status: number; trips: number }> {
  const counter = countingD1(env.DB);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: options.method ?? (body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", authorization: `Bearer ${options.token}` },
      body,
    }),
    { ...env, ...bindings, DB: counter.db },
    ctx,
  );
  await res.text();
  const trips = counter.count();
  await waitOnExecutionContext(ctx);
  return { status: res.status, trips };
}

/** A D1 binding that reports how long each batch took. */
function aroundBatches(binding: D1Database, took: (ms: number, statements: number) => void): D1Database {
  const wrap = <T extends D1Database | D1DatabaseSession>(target: T): T =>
    new Proxy(target, {
      get(inner, prop) {
        const value: unknown = Reflect.get(inner, prop);
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            const started = performance.now();
            const result = await inner.batch(statements);
            took(performance.now() - started, statements.length);
            return result;
          };
        }
        if (prop === "withSession")
          return (...args: unknown[]) => wrap((inner as D1Database).withSession(...(args as [string])));
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
  return wrap(binding);
}

/** Writes `tasks` tasks with `stepsPerTask` steps each for the user, straight into D1 (fast). */
async function insertBigAccount(userId: string, tasks: number, stepsPerTask: number): Promise<void> {
  const now = new Date().toISOString();
  const ids = Array.from({ length: tasks }, (_, i) => `big-${userId}-${i}`);
  const steps = JSON.stringify(Array.from({ length: stepsPerTask }, (_, i) => i));
  for (let i = 0; i < tasks; i += 1000) {
    const chunk = JSON.stringify(ids.slice(i, i + 1000));
    await env.DB.prepare(
      `INSERT INTO tasks (id, user_id, title, created_at, updated_at)
       SELECT value, ?2, 'Task ' || key, ?3, ?3 FROM json_each(?1)`,
    )
      .bind(chunk, userId, now)
      .run();
    if (stepsPerTask === 0) continue;
    await env.DB.prepare(
      `INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, created_at, updated_at)
       SELECT t.value || '-s' || s.value, t.value, ?2, s.value, 'Step', 5, ?3, ?3
       FROM json_each(?1) AS t, json_each(?4) AS s`,
    )
      .bind(chunk, userId, now, steps)
      .run();
  }
}

describe("DELETE /api/v1/auth/me: the account, everywhere", () => {
  it("erases every row, object, score and file of the account, refuses its tokens and closes its sockets; another account is untouched", {
    timeout: 180_000,
  }, async () => {
    const doomed = await fullAccount();
    const other = await fullAccount();
    await crossImport(doomed, other);
    const { user } = doomed;

    // The search sees the account everywhere it was written before (so it can fail): in the other
    // account's record of importing its template too.
    const before = await traces(needlesOf(doomed));
    expect(tablesOf(before)).toEqual(expect.arrayContaining(FULL_ACCOUNT_TABLES));
    expect(before.filter((line) => line.startsWith("template_share_uses:")).length).toBeGreaterThan(0);
    expect(await templateShareOf(other.user, other.sharedTemplateId)).toMatchObject({ uses: 1 });
    expect(await boardScores(user.id)).not.toEqual([]);
    const files = await filesOf(user.id);
    expect(files.filter((key) => key.startsWith(`exports/${user.id}/`))).toHaveLength(1);
    expect(files.filter((key) => key.startsWith(`imports/${user.id}/`)).length).toBeGreaterThan(0);
    expect((await storedIn(timerOf(user))).outbox).toBeDefined();
    const focusSocket = await openSocket({ token: user.token });
    const petSocket = await openSocket({ token: user.token, channel: PET_CHANNEL });
    const lateEvents = await eventsOf(user.id);
    const otherRows = await settledRows(other.user.id);

    const res = await deleteAccount(user.token, { password: user.password });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    // Open sockets are closed at once, with the code that says there is nothing to reconnect to.
    for (const socket of [focusSocket, petSocket] as TestSocket[]) {
      expect(await socket.closedSoon()).toMatchObject({ code: 4003 });
    }

    // A late delivery of the account's events (queued before, retried after) writes nothing.
    const late = await deliver(lateEvents);
    expect(late.retryMessages).toEqual([]);
    // Nor does a notification still on its way, nor a training claimed before.
    expect((await notify(user)).retryMessages).toEqual([]);

    // No table holds the person: not their id, email, words, nor the id of anything they owned.
    expect(await traces(needlesOf(doomed))).toEqual([]);
    // The other account has every row it had, but its record of importing the deleted account's
    // template (its copy stays: it is theirs); its own template still counts the deleted importer (a use
    // count is a number, not a record of the person).
    const { template_share_uses: importedByOther, ...otherKept } = otherRows;
    expect(importedByOther).toBe(1);
    expect(await settledRows(other.user.id)).toEqual(otherKept);
    expect(await templateShareOf(other.user, other.sharedTemplateId)).toMatchObject({ uses: 1 });
    expect(await boardScores(other.user.id)).not.toEqual([]);

    // The live objects hold only a tombstone (nothing of the person); no alarm will wake them; the
    // boards and the bucket forgot them.
    for (const stub of [timerOf(user), petObject(user)]) {
      const stored = await storedIn(stub);
      expect(
        Object.values(stored).every((n) => n === 0),
        JSON.stringify(stored),
      ).toBe(true);
      expect(await tombstoned(stub)).toBe(true);
      const kept = (await everythingIn(stub)).join("\n");
      for (const needle of needlesOf(doomed)) expect(kept).not.toContain(needle);
      expect(await runDurableObjectAlarm(stub)).toBe(false);
    }
    expect(await boardScores(user.id)).toEqual([]);
    expect(await filesOf(user.id)).toEqual([]);

    // Every credential is refused, reads and writes alike.
    const refused = [
      call("/api/v1/tasks", { token: user.token }),
      call("/api/v1/gamification/me", { token: user.token }),
      // Writes that would store rows for the account (refused before they run: this isolate made the
      // deletion; another would run them once, then sweep: "a deleted account's token" below).
      call("/api/v1/tasks", { token: user.token, body: { title: `${doomed.marker} after` } }),
      call("/api/v1/analytics/energy", { token: user.token, body: { level: "low" } }),
      call("/api/v1/notifications/devices", {
        token: user.token,
        body: { expo_push_token: `ExponentPushToken[${doomed.marker}-after]`, platform: "android" },
      }),
      call("/api/v1/notifications/preferences", { method: "PUT", token: user.token, body: { daily_cap: 3 } }),
      call("/api/v1/auth/me", { token: user.token }),
      call("/api/v1/tasks", { token: doomed.apiToken }),
      call(`/api/v1/delegation/assignments/agent/${doomed.agentId}`, { token: doomed.agentToken }),
      call("/api/v1/auth/refresh", { body: { refresh_token: user.refreshToken } }),
      call("/api/v1/focus/ws", {
        headers: { upgrade: "websocket", "sec-websocket-protocol": `pap.focus.v1, bearer.${user.token}` },
      }),
      // Routes the live objects answer alone: their tombstones refuse.
      call("/api/v1/pets/me", { token: user.token }),
      call("/api/v1/pets/me/feed", { token: user.token, body: { xp_amount: 1 } }),
      call("/api/v1/focus/enhanced/state", { token: user.token }),
      call("/api/v1/focus/enhanced/start", { token: user.token, body: { kind: "pomodoro" } }),
      call("/api/v1/focus/enhanced/settings", { token: user.token }),
    ];
    for (const answer of await Promise.all(refused)) {
      expect(answer.status, answer.url).toBe(401);
      await answer.text();
    }
    expect(await traces(needlesOf(doomed))).toEqual([]);
    // Signing in with the old password fails like for any unknown email (and, like any, is counted
    // under the email tried for 15 minutes, whether or not an account has it).
    const login = await call("/api/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(login.status).toBe(401);
    await login.text();

    // The same email signs up again into a new, empty account.
    const again = await callJson<AuthResponseDto>("/api/v1/auth/register", 201, {
      body: { email: user.email, password: "a new password" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(again.user.id).not.toBe(user.id);
    const token = again.access_token;
    expect(await callJson<Task[]>("/api/v1/tasks", 200, { token })).toEqual([]);
    expect(await callJson("/api/v1/gamification/me", 200, { token })).toMatchObject({
      total_xp: 0,
      level: 1,
    });
    expect((await call("/api/v1/pets/me", { token })).status).toBe(404);
    expect(await callJson("/api/v1/focus/enhanced/state", 200, { token })).toMatchObject({ status: "idle" });
  });

  it("needs a login session and the password; wrong guesses count like failed logins", async () => {
    const user = await createUser();
    const apiToken = await createApiToken(user.token, {
      name: "script",
      scopes: ["tasks:read", "profile:read"],
    });
    const agent = await registerAgent(user);
    for (const token of [apiToken.token, agent.token ?? ""]) {
      const res = await deleteAccount(token, { password: user.password });
      expect(res.status).toBe(403);
      expect((await problemOf(res)).detail).toMatch(/login session/);
    }
    // No password (even right after signing in): 422. A fresh login does not stand in for it.
    const missing = await deleteAccount(user.token, {});
    expect(missing.status).toBe(422);
    expect((await problemOf(missing)).errors?.map((e) => e.field)).toEqual(["password"]);

    const address = testAddress();
    for (let i = 0; i < 5; i++) {
      const wrong = await deleteAccount(
        user.token,
        { password: `guess ${i}` },
        { "cf-connecting-ip": address },
      );
      expect(wrong.status).toBe(403);
      expect(await problemOf(wrong)).toMatchObject({ code: "invalid_password" });
    }
    const locked = await deleteAccount(
      user.token,
      { password: user.password },
      { "cf-connecting-ip": address },
    );
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    await locked.text();
    // The same lock holds at the login route: the password is no easier to guess from here.
    const login = await call("/api/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(login.status).toBe(429);
    await login.text();
    // Nothing was deleted.
    expect(await callJson("/api/v1/auth/me", 200, { token: user.token })).toMatchObject({ id: user.id });
  });

  it("is limited per address like signing in", async () => {
    const user = await createUser();
    const refusing = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    const res = await callWith({ AUTH_LIMITER: refusing }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(await callJson("/api/v1/auth/me", 200, { token: user.token })).toMatchObject({ id: user.id });
  });

  it("closes the account at once and finishes by the cron when erasing fails after the mark", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Half way" });
    const apiToken = await createApiToken(user.token, { name: "script", scopes: ["tasks:read"] });
    await env.FILES.put(`exports/${user.id}/keep.json`, "{}");
    // The failure is injected at the seam after the mark: the files cannot be reached.
    const broken = {
      list: async () => {
        throw new Error("R2 is unreachable");
      },
    } as unknown as R2Bucket;
    const failed = await callWith({ FILES: broken }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("300");
    expect(await problemOf(failed)).toMatchObject({ code: "deletion_incomplete" });

    // Closed from the mark on: every token refused, signing in fails, though rows remain for now.
    expect(await traces([task.task_id])).not.toEqual([]);
    for (const token of [user.token, apiToken.token]) {
      const res = await call("/api/v1/tasks", { token });
      expect(res.status).toBe(401);
      await res.text();
    }
    const login = await call("/api/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(login.status).toBe(401);
    await login.text();
    const refresh = await call("/api/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(refresh.status).toBe(401);
    await refresh.text();

    // The five-minute cron finishes it: nothing is left anywhere.
    await runFiveMinuteCron();
    expect(await traces([user.id, user.email, task.task_id])).toEqual([]);
    expect(await filesOf(user.id)).toEqual([]);
  });

  it("is resumed by the cron after D1 fails between chunks, until nothing is left", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Chunk", micro_steps: [{ description: "a" }] });
    // The first erasure batch goes through, the second fails: some rows are gone, others not.
    let batches = 0;
    const failing = beforeBatches(env.DB, async (statements) => {
      if (statements < 5) return;
      batches += 1;
      if (batches === 2) throw new Error("D1_ERROR: Network connection lost.");
    });
    const res = await callWith({ DB: failing }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(res.status).toBe(503);
    await res.text();
    expect(batches).toBe(2);
    const marked = await env.DB.prepare("SELECT deleting_at FROM users WHERE id = ?").bind(user.id).first();
    expect(marked).toEqual({ deleting_at: expect.any(String) });

    await runFiveMinuteCron();
    expect(await traces([user.id, user.email, task.task_id])).toEqual([]);
  });

  it("erases a big account in bounded chunks within the request", { timeout: 120_000 }, async () => {
    const user = await createUser();
    const TASKS = 10_000;
    const STEPS_PER_TASK = 5;
    await insertBigAccount(user.id, TASKS, STEPS_PER_TASK);
    const count = (table: string) =>
      env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`)
        .bind(user.id)
        .first<{ n: number }>()
        .then((r) => r?.n);
    expect(await count("micro_steps")).toBe(TASKS * STEPS_PER_TASK);

    // Every batch the deletion sends is timed: none may hold D1's writer long.
    const batchMs: number[] = [];
    const timed = aroundBatches(env.DB, (ms) => batchMs.push(ms));
    const started = performance.now();
    const res = await callWith({ DB: timed }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    const ms = performance.now() - started;
    expect(res.status).toBe(204);
    console.log(
      `deleted ${TASKS} tasks and ${TASKS * STEPS_PER_TASK} steps in ${Math.round(ms)} ms, ` +
        `${batchMs.length} batches, the longest ${Math.round(Math.max(...batchMs))} ms`,
    );
    expect(await count("tasks")).toBe(0);
    expect(await count("micro_steps")).toBe(0);
    expect(await traces([user.id])).toEqual([]);
  });

  it("hands the rest of an account too big for one request to the queue (202)", {
    timeout: 60_000,
  }, async () => {
    const user = await createUser();
    // With one row a chunk, 300 tasks and their 300 steps take more statements than a request may send.
    await insertBigAccount(user.id, 300, 1);
    const sent: Sent[] = [];
    const res = await callWith(
      { ERASURE_QUEUE: capturingQueue(sent), ERASURE_CHUNK_ROWS: "1" },
      "/api/v1/auth/me",
      {
        method: "DELETE",
        token: user.token,
        body: { password: user.password },
      },
    );
    expect(res.status).toBe(202);
    expect(sent).toEqual([{ body: { type: "erase", user_id: user.id }, delaySeconds: undefined }]);
    expect(await traces([user.id])).not.toEqual([]);
    // Closed already; the queue finishes the rest, then sends the delayed sweep.
    const refused = await call("/api/v1/tasks", { token: user.token });
    expect(refused.status).toBe(401);
    await refused.text();
    const after: Sent[] = [];
    const result = await runErasureQueue(
      sent.map((m) => m.body),
      { ERASURE_QUEUE: capturingQueue(after), ERASURE_CHUNK_ROWS: "1" },
    );
    expect(result.explicitAcks).toHaveLength(1);
    expect(await traces([user.id, user.email])).toEqual([]);
    expect(after).toEqual([
      { body: { type: "sweep", user_id: user.id }, delaySeconds: RESWEEP_DELAY_SECONDS },
    ]);
  });
});

describe("the account lookup of a login's requests", () => {
  it("runs beside a D1 route (one more trip, no added wait) unless the route carries it; the live objects' own routes make none", async () => {
    const user = await createUser();
    await createTask(user, { title: "Counted" });
    // A page of tasks shows the account live by itself (its query asks); a read elsewhere looks it up beside.
    expect(await tripsFor("/api/v1/tasks", { token: user.token })).toEqual({ status: 200, trips: 1 });
    expect(await tripsFor("/api/v1/tasks/next", { token: user.token })).toEqual({ status: 200, trips: 2 });
    // A create checks the account inside its own batch: no trip of its own.
    const body = JSON.stringify({ title: "Written" });
    expect(await tripsFor("/api/v1/tasks", { method: "POST", body, token: user.token })).toEqual({
      status: 201,
      trips: 1,
    });
    // The pet's and the timer's routes: their objects refuse a deleted account themselves.
    await adoptPet(user);
    expect(await tripsFor("/api/v1/pets/me", { token: user.token })).toEqual({ status: 200, trips: 0 });
    expect(await tripsFor("/api/v1/focus/enhanced/state", { token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
    // An API token is read from D1 on every request anyway (its account's tokens end with it).
    const { token } = await createApiToken(user.token, { name: "reader", scopes: ["tasks:read"] });
    await tripsFor("/api/v1/tasks", { token });
    expect(await tripsFor("/api/v1/tasks", { token })).toEqual({ status: 200, trips: 2 });
  });

  it("leaves the answer as it is when the lookup itself fails (a write is not made to look failed)", async () => {
    const user = await createUser();
    const lookup = accountLookup(createDatabase(env.DB), "").toSQL().sql;
    const failingLookup = (binding: D1Database | D1DatabaseSession): D1Database =>
      new Proxy(binding, {
        get(target, prop) {
          const value: unknown = Reflect.get(target, prop);
          if (prop === "prepare") {
            return (sql: string) => {
              if (sql === lookup) throw new Error("D1_ERROR: Network connection lost.");
              return target.prepare(sql);
            };
          }
          if (prop === "withSession")
            return (...args: unknown[]) =>
              failingLookup((target as D1Database).withSession(...(args as [string])));
          return typeof value === "function" ? value.bind(target) : value;
        },
      }) as D1Database;
    // Capture looks the account up beside its work (a create's check rides in its batch instead).
    const res = await callWith({ DB: failingLookup(env.DB) }, "/api/v1/capture", {
      token: user.token,
      body: { text: "Written once" },
    });
    expect(res.status).toBe(201);
    expect((await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token })).map((t) => t.title)).toEqual(
      ["Written once"],
    );
  });

  it("refuses a socket ticket asked for before the account was deleted", async () => {
    const user = await createUser();
    const { ticket } = await callJson<{ ticket: string }>("/api/v1/focus/ws-ticket", 201, {
      method: "POST",
      token: user.token,
    });
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    const res = await call(`/api/v1/focus/ws?ticket=${encodeURIComponent(ticket)}`, {
      headers: { upgrade: "websocket" },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/no longer exists/);
  });

  it("answers a deleted account's write 401, queues a sweep of what it wrote, then refuses before running", async () => {
    const user = await createUser();
    // Deleted by a request another isolate served: this one learns it from the lookup.
    await env.DB.prepare("UPDATE users SET deleting_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), user.id)
      .run();
    const sent: Sent[] = [];
    // An energy check-in looks the account up beside its work, so it writes before it knows.
    const first = await countedCall({ ERASURE_QUEUE: capturingQueue(sent) }, "/api/v1/analytics/energy", {
      token: user.token,
      body: { level: "low" },
    });
    // The route's own trip and the lookup beside it: no erasure run inline.
    expect(first).toEqual({ status: 401, trips: 2 });
    expect(sent).toEqual([{ body: { type: "sweep", user_id: user.id }, delaySeconds: undefined }]);
    // This isolate remembers: refused before anything runs, no D1 at all, nothing more queued.
    const again = await countedCall({ ERASURE_QUEUE: capturingQueue(sent) }, "/api/v1/tasks", {
      token: user.token,
      body: { title: "Again" },
    });
    expect(again).toEqual({ status: 401, trips: 0 });
    expect(sent).toHaveLength(1);
    // The sweep finishes the account (it is marked), the late row with it.
    expect(await traces([user.id])).not.toEqual([]);
    await runErasureQueue(sent.map((m) => m.body));
    expect(await traces([user.id])).toEqual([]);
  });
});

describe("the account check inside a write's own batch", () => {
  /** A login whose account another isolate marked deleted: this isolate has not seen it go. */
  async function markedGone(user: TestUser): Promise<void> {
    await env.DB.prepare("UPDATE users SET deleting_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), user.id)
      .run();
  }
  const count = async (query: string, ...values: string[]) =>
    (await env.DB.prepare(query)
      .bind(...values)
      .first<{ n: number }>("n")) ?? -1;

  it("refuses a create, a delegation and a split of a deleted account in one round trip, writing nothing", async () => {
    const creator = await createUser();
    const delegator = await createUser();
    await registerAgent(delegator, { agent_type: "backend" });
    const toDelegate = await createTask(delegator, { title: "Refactor billing" });
    const splitter = await createUser();
    const toSplit = await createTask(splitter, { title: "Clean the garage", estimated_minutes: 60 });
    for (const user of [creator, delegator, splitter]) await markedGone(user);

    const sent: Sent[] = [];
    const queue = { ERASURE_QUEUE: capturingQueue(sent) };
    const requests: [TestUser, string, unknown][] = [
      [creator, "/api/v1/tasks", { title: "Written after the mark", micro_steps: [{ description: "a" }] }],
      [
        delegator,
        "/api/v1/delegation/delegate",
        { task_id: toDelegate.task_id, delegation_mode: "DELEGATE", prefer_agent_type: "backend" },
      ],
      [splitter, `/api/v1/tasks/split/${toSplit.task_id}`, { splitter: "local", apply: true }],
    ];
    for (const [user, path, body] of requests) {
      // The route's batch, whose first statement found the account gone: no lookup of its own.
      expect(await countedCall(queue, path, { token: user.token, body }), path).toEqual({
        status: 401,
        trips: 1,
      });
    }
    expect(await count("SELECT count(*) AS n FROM tasks WHERE user_id = ?", creator.id)).toBe(0);
    expect(
      await count("SELECT count(*) AS n FROM task_assignments WHERE task_id = ?", toDelegate.task_id),
    ).toBe(0);
    expect(await count("SELECT count(*) AS n FROM micro_steps WHERE task_id = ?", toSplit.task_id)).toBe(0);
    // A sweep each, as for any write of a gone account; and the isolate now refuses them at once.
    expect(sent.map((m) => m.body)).toEqual(
      [creator, delegator, splitter].map((u) => ({ type: "sweep", user_id: u.id })),
    );
    const again = await call("/api/v1/tasks", { token: creator.token, body: { title: "Again" } });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).detail).toMatch(/no longer exists/);
  });

  it("looks the account up after a route that sent no batch, so a refused body still says 401 when it is gone", async () => {
    const live = await createUser();
    const badBody = { title: "" };
    // Refused by validation before any batch: the account is looked up after (one trip), still 4xx.
    const refused = await countedCall({}, "/api/v1/tasks", { token: live.token, body: badBody });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(refused.status).not.toBe(401);
    expect(refused.trips).toBe(1);
    const gone = await createUser();
    await markedGone(gone);
    expect(await countedCall({}, "/api/v1/tasks", { token: gone.token, body: badBody })).toEqual({
      status: 401,
      trips: 1,
    });
  });

  it("lets a page of tasks show the account live, and looks it up after an empty page", async () => {
    const user = await createUser();
    // Nothing to show: the empty page proves nothing, so the account is looked up after it.
    expect(await countedCall({}, "/api/v1/tasks", { token: user.token })).toEqual({ status: 200, trips: 2 });
    await createTask(user, { title: "Shown" });
    expect(await countedCall({}, "/api/v1/tasks", { token: user.token })).toEqual({ status: 200, trips: 1 });
    // Gone, with tasks still stored: the query returns none of them, and the lookup after says 401.
    await markedGone(user);
    const res = await call("/api/v1/tasks", { token: user.token });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/no longer exists/);
  });

  it("carries the check in a capture's own D1 batch: the task's, or its preview's read", async () => {
    const user = await createUser();
    // The account's zone beside the (absent) key's lookup, then the batch: 2 trips, as a create with a read.
    expect(
      await countedCall({}, "/api/v1/capture", { token: user.token, body: { text: "Call mum" } }),
    ).toEqual({
      status: 201,
      trips: 2,
    });
    // A zone sent with the text needs no read: the batch alone.
    const zoned = { text: "Call dad tomorrow", timezone: "Europe/Paris" };
    expect(await countedCall({}, "/api/v1/capture", { token: user.token, body: zoned })).toEqual({
      status: 201,
      trips: 1,
    });
    // The original app's preview writes nothing: its one read (zone and onboarding) is a batch of its
    // own, which the account guard rides in.
    const preview = { query: "Tidy the desk" };
    expect(await countedCall({}, "/api/v1/capture", { token: user.token, body: preview })).toEqual({
      status: 200,
      trips: 1,
    });
    await markedGone(user);
    // Gone: the batch's guard refuses the capture (1 trip, nothing written), and the preview's read.
    expect(await countedCall({}, "/api/v1/capture", { token: user.token, body: zoned })).toEqual({
      status: 401,
      trips: 1,
    });
    expect(
      await count("SELECT count(*) AS n FROM tasks WHERE user_id = ? AND title LIKE 'Call dad%'", user.id),
    ).toBe(1);
    const other = await createUser();
    await markedGone(other);
    expect(await countedCall({}, "/api/v1/capture", { token: other.token, body: preview })).toEqual({
      status: 401,
      trips: 1,
    });
  });

  it("answers the route's own refusals as before for a live account", async () => {
    const user = await createUser();
    const other = await createUser();
    const theirs = await createTask(other, { title: "Not yours" });
    // Another user's task: the delegation's own check, not the account's, answers (404).
    const res = await call("/api/v1/delegation/delegate", {
      token: user.token,
      body: { task_id: theirs.task_id, delegation_mode: "DELEGATE" },
    });
    expect(res.status).toBe(404);
    const created = await call("/api/v1/tasks", { token: user.token, body: { title: "Mine" } });
    expect(created.status).toBe(201);
  });
});

describe("the sweep a minute after a deletion", () => {
  it("is queued by the deletion with a delay, and erases what a request that read the account before the mark wrote", async () => {
    const user = await createUser();
    const sent: Sent[] = [];
    const res = await callWith({ ERASURE_QUEUE: capturingQueue(sent) }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(res.status).toBe(204);
    expect(sent).toEqual([
      { body: { type: "sweep", user_id: user.id }, delaySeconds: RESWEEP_DELAY_SECONDS },
    ]);
    // A request whose lookup saw the account just before the mark writes after the erasure.
    const now = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO tasks (id, user_id, title, created_at, updated_at) VALUES (?, ?, 'Late', ?, ?)",
      ).bind(`late-${user.id}`, user.id, now, now),
      env.DB.prepare(
        "INSERT INTO energy_checkins (id, user_id, level, at, created_at) VALUES (?, ?, 'low', ?, ?)",
      ).bind(`late-energy-${user.id}`, user.id, now, now),
    ]);
    expect(await traces([user.id])).not.toEqual([]);
    const result = await runErasureQueue(sent.map((m) => m.body));
    expect(result.explicitAcks).toHaveLength(1);
    expect(await traces([user.id])).toEqual([]);
  });

  it("never touches an account that is not being deleted", async () => {
    const user = await createUser();
    await createTask(user, { title: "Mine" });
    const before = await rowsMentioning(user.id);
    const result = await runErasureQueue([
      { type: "sweep", user_id: user.id },
      { type: "erase", user_id: user.id },
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(await rowsMentioning(user.id)).toEqual(before);
    expect(await callJson("/api/v1/auth/me", 200, { token: user.token })).toMatchObject({ id: user.id });
  });

  it("drops a malformed message, and retries an account whose erasure failed until it goes through", async () => {
    const user = await createUser();
    await env.DB.prepare("UPDATE users SET deleting_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), user.id)
      .run();
    const broken = {
      list: async () => {
        throw new Error("R2 is unreachable");
      },
    } as unknown as R2Bucket;
    const failed = await runErasureQueue(
      [
        { type: "wipe", user_id: 7 },
        { type: "erase", user_id: user.id },
      ],
      {
        FILES: broken,
      },
    );
    expect(failed.explicitAcks).toHaveLength(1);
    expect(failed.retryMessages).toHaveLength(1);
    expect(await traces([user.id])).not.toEqual([]);
    const retried = await runErasureQueue([{ type: "erase", user_id: user.id }]);
    expect(retried.explicitAcks).toHaveLength(1);
    expect(await traces([user.id])).toEqual([]);
  });

  it("does an account once however many of its sweeps a delivery holds", async () => {
    const user = await createUser();
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    const tripsOf = async (copies: number) => {
      const counter = countingD1(env.DB);
      await runErasureQueue(
        Array.from({ length: copies }, () => ({ type: "sweep" as const, user_id: user.id })),
        { DB: counter.db },
      );
      return counter.count();
    };
    expect(await tripsOf(5)).toBe(await tripsOf(1));
  });
});

describe("nothing of a deleted account is written again", () => {
  it("an event delivery that loses the race to the deletion writes nothing", async () => {
    const user = await createUser();
    const event = await completedEvent(user.id);
    const result = await runEventsQueue([{ id: `race-${event.id}`, body: event }], (batch) =>
      // The account goes between the delivery's reads and its batch: the batch's guard refuses it.
      consumeEvents(batch, { ...env, DB: deletingBeforeBatch(user.id, 2) }),
    );
    expect(result.explicitAcks).toEqual([`race-${event.id}`]);
    expect(result.retryMessages).toEqual([]);
    await env.DB.prepare("DELETE FROM events WHERE user_id = ?").bind(user.id).run();
    await env.DB.prepare("DELETE FROM refresh_tokens WHERE user_id = ?").bind(user.id).run();
    expect(await traces([user.id, event.id])).toEqual([]);
  });

  it("a notification whose account goes while it is placed is not written", async () => {
    const user = await createUser();
    const message = notifyMessage(user);
    const handled = await writeNotifications(
      createDatabase(deletingBeforeBatch(user.id, 1)),
      [message],
      Date.now(),
    );
    expect([...handled.values()]).toEqual([]);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM notifications WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it("a training whose account goes while it trains stores nothing", async () => {
    const user = await createUser();
    await markActive(user.id);
    const db = createDatabase(env.DB);
    const night = `race-${crypto.randomUUID()}`;
    await claimRun(db, user.id, night, Date.now());
    const take = await startRun(db, user.id, night, Date.now());
    if (!take.taken) throw new Error("the run was not taken");
    // Its history read is the first batch; the account goes before the second, which stores models.
    const summary = await trainTaken(
      createDatabase(deletingBeforeBatch(user.id, 2)),
      user.id,
      night,
      take.token,
    );
    expect(summary).toBeNull();
    const models = await env.DB.prepare("SELECT count(*) AS n FROM learning_models WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(models?.n).toBe(0);
  });

  it("a live object whose account is gone writes nothing to D1 and forgets what it held", async () => {
    const user = await createUser();
    const pet = await adoptPet(user, { name: "Late" });
    const interactions = () =>
      env.DB.prepare("SELECT count(*) AS n FROM pet_interactions WHERE user_id = ?")
        .bind(user.id)
        .first<{ n: number }>()
        .then((r) => r?.n);
    const before = await interactions();
    // The account's rows went (a deletion) while its pet object still held the pet.
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
    await petObject(user).update(user.id, { name: "Renamed" });
    expect(await interactions()).toBe(before);
    const row = await env.DB.prepare("SELECT name FROM user_pets WHERE id = ?").bind(pet.pet_id).first();
    expect(row).toEqual({ name: "Late" });
    const stored = await storedIn(petObject(user));
    expect(
      Object.values(stored).every((n) => n === 0),
      JSON.stringify(stored),
    ).toBe(true);
  });

  it("a copy of a deleted account's standing arriving late does not bring it back", async () => {
    const user = await createUser();
    const week = weekStartOf(Date.now());
    const entry = {
      user_id: user.id,
      name: "Late",
      total_xp: 500,
      week_start: week,
      week_xp: 50,
      hidden: false,
    };
    await sendEntries(env, [{ ...entry, version: 1 }]);
    expect(await boardScores(user.id)).not.toEqual([]);
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    expect(await boardScores(user.id)).toEqual([]);
    await sendEntries(env, [{ ...entry, version: 2 }]);
    expect(await boardScores(user.id)).toEqual([]);

    // The shard keeps only a hash of the id, and only for FORGET_MS; its alarm then forgets that too.
    const clock = freezeClock();
    clock.tick(FORGET_MS + 1000);
    for (let i = 0; i < shardCount(); i++) {
      await runDurableObjectAlarm(shardStub(i));
      const stored = await runInDurableObject(shardStub(i), async (_instance, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM forgotten").one(),
      );
      expect(stored.n).toBe(0);
    }
  });
});

describe("the erasure plan", () => {
  it("has a rule for every table without user_id", () => {
    expect(unclassifiedTables()).toEqual([]);
  });

  it("erases rows found through the account's own rows before those rows, and the account last", () => {
    const plan = erasePlan(createDatabase(env.DB), { id: "u", email: "e@example.com", wasAdmin: false });
    const phaseOf = (fragment: string) =>
      plan.findIndex((phase) =>
        phase.some((step) => step.statements.some((s) => s.toSQL().sql.startsWith(fragment))),
      );
    expect(phaseOf('delete from "template_steps"')).toBeLessThan(phaseOf('delete from "task_templates"'));
    expect(phaseOf('delete from "event_receipts"')).toBeLessThan(phaseOf('delete from "events"'));
    expect(phaseOf('delete from "template_share_uses"')).toBeLessThan(
      phaseOf('delete from "task_templates"'),
    );
    expect(plan.at(-1)?.map((step) => step.statements[0].toSQL().sql)).toEqual([
      'delete from "users" where "users"."id" = ?',
    ]);
    // An administrator's id is taken out of other people's grants only when there can be any.
    const sqlOf = (wasAdmin: boolean) =>
      eraseStatements(createDatabase(env.DB), { id: "u", email: "e", wasAdmin }).map((s) => s.toSQL().sql);
    expect(sqlOf(false).some((s) => s.includes("granted_by"))).toBe(false);
    expect(sqlOf(true).some((s) => s.includes("granted_by"))).toBe(true);
  });

  it("reaches every row through an index: no statement reads a whole table", async () => {
    const { results: indexes } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'",
    ).all<{ name: string }>();
    const partial = new Set(indexes.map((i) => i.name));
    // A scan is allowed over a partial index only (it holds just the rows it is about).
    const wholeTable = (detail: string) => {
      if (!detail.startsWith("SCAN ")) return false;
      const index = / USING (?:COVERING )?INDEX (\S+)/.exec(detail)?.[1];
      return index === undefined || !partial.has(index);
    };
    for (const wasAdmin of [false, true]) {
      const plan = erasePlan(createDatabase(env.DB), { id: "u", email: "e@example.com", wasAdmin });
      for (const step of plan.flat()) {
        for (const statement of step.statements) {
          const query = statement.toSQL();
          const text = step.chunked ? boundedDelete(query.sql, 1000) : query.sql;
          const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${text}`)
            .bind(...query.params)
            .all<{ detail: string }>();
          const details = results.map((r) => r.detail);
          expect(details.filter(wholeTable), `${text}\n${details.join("\n")}`).toEqual([]);
        }
      }
    }
  });

  it("runs chunk by chunk, phase by phase, and goes on where a spent budget stopped it", async () => {
    const user = await createUser();
    await insertBigAccount(user.id, 7, 2);
    const account = { id: user.id, email: user.email, wasAdmin: false };
    const plan = erasePlan(createDatabase(env.DB), account);
    // Three rows a chunk, and a budget (statements) that stops it partway.
    const stopped = await runErasePlan(env.DB, plan, { rowsPerStatement: 3, budget: 40 });
    expect(stopped.done).toBe(false);
    expect(stopped.statements).toBeLessThanOrEqual(40);
    const row = await env.DB.prepare("SELECT id FROM users WHERE id = ?").bind(user.id).first();
    expect(row).not.toBeNull();
    const finished = await runErasePlan(env.DB, plan, { rowsPerStatement: 3 });
    expect(finished.done).toBe(true);
    expect(stopped.rows + finished.rows).toBeGreaterThanOrEqual(7 + 14 + 1);
    expect(await traces([user.id])).toEqual([]);
  });

  it("bounds a DELETE by rowid, and chunks nothing else", () => {
    expect(boundedDelete('delete from "tasks" where "tasks"."user_id" = ?', 500)).toBe(
      'delete from "tasks" where rowid in (select rowid from "tasks" where "tasks"."user_id" = ? limit 500)',
    );
    expect(() => boundedDelete('update "tasks" set "title" = ?', 5)).toThrow(/plain DELETE/);
  });

  it("deletes files a page at a time", async () => {
    const keys = new Set(Array.from({ length: 2500 }, (_, i) => `exports/u1/${String(i).padStart(4, "0")}`));
    keys.add("exports/u2/not-mine");
    const bucket = {
      async list(options: R2ListOptions) {
        const all = [...keys].filter((k) => k.startsWith(options.prefix ?? "")).sort();
        // Like R2's, the cursor continues after the last key listed, whatever was deleted since.
        const after = all.filter((k) => options.cursor === undefined || k > options.cursor);
        const page = after.slice(0, options.limit ?? 1000);
        return {
          objects: page.map((key) => ({ key })),
          truncated: page.length < after.length,
          cursor: page.at(-1),
        };
      },
      async delete(list: string[]) {
        expect(list.length).toBeLessThanOrEqual(1000);
        for (const key of list) keys.delete(key);
      },
    } as unknown as R2Bucket;
    expect(await eraseUserFiles(bucket, "u1")).toBe(2500);
    expect([...keys]).toEqual(["exports/u2/not-mine"]);
  });
});

describe("an administrator's account", () => {
  it("is no longer named in others' grants or bonus windows once deleted", async () => {
    const admin = await createUser({ email: `admin-${crypto.randomUUID().slice(0, 8)}@example.com` });
    // Made administrator for this test only: the token is minted as an administrator's would be.
    await env.DB.prepare(
      "INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix, scopes, created_at) VALUES (?, ?, 'ops', ?, 'pap_', '[\"admin\"]', ?)",
    )
      .bind(crypto.randomUUID(), admin.id, crypto.randomUUID(), new Date().toISOString())
      .run();
    const receiverUser = await createUser();
    await env.DB.prepare(
      `INSERT INTO events (id, user_id, type, version, data, occurred_at) VALUES (?, ?, 'xp.manual', 1, ?, ?)`,
    )
      .bind(
        crypto.randomUUID(),
        receiverUser.id,
        JSON.stringify({ amount: 5, reason: "thanks", key: crypto.randomUUID(), granted_by: admin.id }),
        new Date().toISOString(),
      )
      .run();
    const bonus = crypto.randomUUID();
    await env.DB.prepare(
      "INSERT INTO bonus_events (id, name, multiplier, starts_at, ends_at, created_by, created_at) VALUES (?, 'Double', 2, ?, ?, ?, ?)",
    )
      .bind(
        bonus,
        new Date().toISOString(),
        new Date(Date.now() + DAY_MS).toISOString(),
        admin.id,
        new Date().toISOString(),
      )
      .run();

    expect((await deleteAccount(admin.token, { password: admin.password })).status).toBe(204);
    expect(await traces([admin.id, admin.email])).toEqual([]);
    // The grant and the window stay: they are the receiver's and the platform's.
    const grant = await env.DB.prepare(
      "SELECT json_extract(data, '$.granted_by') AS by FROM events WHERE user_id = ?",
    )
      .bind(receiverUser.id)
      .all<{ by: string | null }>();
    expect(grant.results.map((r) => r.by)).toContain("erased-account");
    const window = await env.DB.prepare("SELECT created_by FROM bonus_events WHERE id = ?")
      .bind(bonus)
      .first();
    expect(window).toEqual({ created_by: "erased-account" });
  });
});

describe("the live objects of a deleted account", () => {
  it("keep only a tombstone and refuse every later call (RPC, socket, alarm), never making state again", async () => {
    const user = await createUser();
    await adoptPet(user, { name: "Echo" });
    await startFocus(user, { kind: "pomodoro" });
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    const gone = { ok: false, error: { status: 401, code: "unauthorized" } };
    const pet = petObject(user);
    const timer = timerOf(user);
    // What the Worker's routes and jobs call.
    expect(await pet.view(user.id)).toMatchObject(gone);
    expect(await pet.act(user.id, { type: "play" })).toMatchObject(gone);
    expect(await pet.update(user.id, { name: "Back" })).toMatchObject(gone);
    expect(
      await pet.adopt({
        pet_id: crypto.randomUUID(),
        user_id: user.id,
        species: "cat",
        name: "Again",
        timezone: "UTC",
        personality: null,
      }),
    ).toMatchObject(gone);
    const work = {
      source_key: `task:${crypto.randomUUID()}`,
      kind: "task" as const,
      xp: 5,
      occurred_at: Date.now(),
    };
    expect(await pet.nourish(user.id, work)).toBe(true);
    await pet.setTimezone(user.id, "Europe/Berlin");
    await pet.flushed();
    expect(await timer.current(user.id)).toMatchObject(gone);
    expect(await timer.readSettings(user.id)).toMatchObject(gone);
    expect(await timer.changeSettings(user.id, { pomodoro_work_minutes: 20 })).toMatchObject(gone);
    expect(await timer.act(user.id, { type: "start", kind: "pomodoro" })).toMatchObject(gone);
    expect(await timer.closeCredential("any")).toBe(0);
    expect(await timer.notify(["{}"])).toBe(0);
    // A socket forwarded to them.
    for (const stub of [pet, timer]) {
      const upgrade = await stub.fetch(
        new Request("https://object/ws", { headers: { upgrade: "websocket" } }),
      );
      expect(upgrade.status).toBe(401);
      await upgrade.text();
    }
    // An alarm (one left armed by a change that raced the erasure) does nothing.
    for (const stub of [pet, timer]) {
      await runInDurableObject(stub, (_instance, state) => state.storage.setAlarm(Date.now() + 60_000));
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      const stored = await storedIn(stub);
      expect(
        Object.values(stored).every((n) => n === 0),
        JSON.stringify(stored),
      ).toBe(true);
      expect(await tombstoned(stub)).toBe(true);
    }
  });

  it("refuse through the routes that make no D1 lookup: 401, and no D1 round trip", async () => {
    const user = await createUser();
    await adoptPet(user, { name: "Solo" });
    // The objects erased (as a deletion's first step does) while this isolate has not seen the account go.
    await petObject(user).erase();
    await timerOf(user).erase();
    for (const path of ["/api/v1/pets/me", "/api/v1/pets/level/me/status", "/api/v1/focus/enhanced/state"]) {
      expect(await tripsFor(path, { token: user.token }), path).toEqual({ status: 401, trips: 0 });
    }
    const feed = JSON.stringify({ xp_amount: 1 });
    expect(await tripsFor("/api/v1/pets/me/feed", { method: "POST", body: feed, token: user.token })).toEqual(
      {
        status: 401,
        trips: 0,
      },
    );
    const res = await call("/api/v1/focus/enhanced/start", { token: user.token, body: { kind: "pomodoro" } });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/no longer exists/);
  });

  it("forget what they held only when the account is gone, asked again after their write's guard aborts", async () => {
    const user = await createUser();
    await adoptPet(user, { name: "Guarded" });
    const pet = petObject(user);
    const outcome = await runInDurableObject(pet, async (instance, state) => {
      const store = (instance as unknown as { store: LiveStorage<unknown> }).store;
      const body = JSON.stringify({ user_id: user.id });
      store.commit(
        { messages: [], outbox: [{ id: `probe:${crypto.randomUUID()}`, kind: "probe", body }] },
        Date.now(),
      );
      // A batch that aborts on a guard though the account is there (say, another guard of the batch).
      const aborting = new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "batch")
            return async () => {
              throw new Error("D1_ERROR: NOT NULL constraint failed: batch_guards.reason: SQLITE_CONSTRAINT");
            };
          const value: unknown = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      let forgotten = 0;
      const writer = new OutboxWriter(state, { ...env, DB: aborting }, store, {
        name: "probe",
        persist: () => [],
        nextDueAt: () => null,
        ownerGone: async () => {
          forgotten += 1;
        },
      });
      await writer.flush();
      const kept = { forgotten, pending: store.pendingOutbox().length, state: store.state() !== undefined };
      // Now the account is gone: the same abort makes the object forget.
      await env.DB.prepare("UPDATE users SET deleting_at = ? WHERE id = ?")
        .bind(new Date().toISOString(), user.id)
        .run();
      await writer.flush();
      return { kept, forgottenAfter: forgotten };
    });
    expect(outcome.kept).toEqual({ forgotten: 0, pending: 1, state: true });
    expect(outcome.forgottenAfter).toBe(1);
  });
});

describe("template codes of a deleted account", () => {
  it("forgets its imports both ways: others' records of its templates go, and its own records of what it imported", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const mine = await createTemplate(alice, { name: "Alice's", template_id: uniqueTemplateId() });
    const theirs = await createTemplate(bob, { name: "Bob's", template_id: uniqueTemplateId() });
    const codeOf = async (user: TestUser, templateId: string) =>
      (
        await callJson<{ code: string }>(`/api/v1/templates/${templateId}/share`, 201, {
          method: "POST",
          token: user.token,
        })
      ).code;
    const [aliceCode, bobCode] = [
      await codeOf(alice, mine.template_id),
      await codeOf(bob, theirs.template_id),
    ];
    const importCode = (user: TestUser, code: string) =>
      callJson("/api/v1/templates/import", 201, { token: user.token, body: { code } });
    await importCode(bob, aliceCode);
    await importCode(alice, bobCode);
    await importCode(carol, bobCode);
    expect(await templateShareOf(bob, theirs.template_id)).toMatchObject({ uses: 2 });
    const aliceTemplate =
      (
        await env.DB.prepare("SELECT id FROM task_templates WHERE user_id = ? AND client_id = ?")
          .bind(alice.id, mine.template_id)
          .first<{ id: string }>()
      )?.id ?? "";
    const usesRows = (sql: string, value: string) =>
      env.DB.prepare(`SELECT count(*) AS n FROM template_share_uses WHERE ${sql}`)
        .bind(value)
        .first<{ n: number }>()
        .then((r) => r?.n);
    expect(await usesRows("template_id IN (SELECT id FROM task_templates WHERE user_id = ?)", alice.id)).toBe(
      1,
    );

    expect((await deleteAccount(alice.token, { password: alice.password })).status).toBe(204);
    // Bob's record of importing Alice's template went (his copy is his and stays); Bob's template still
    // counts the two people who imported it (a use count is a number, not a record of the person).
    expect(await usesRows("template_id = ?", aliceTemplate)).toBe(0);
    expect(await usesRows("user_id = ?", alice.id)).toBe(0);
    expect(await templateShareOf(bob, theirs.template_id)).toMatchObject({ uses: 2 });
    const bobs = await callJson<{ name: string }[]>("/api/v1/templates?mine=true&limit=100", 200, {
      token: bob.token,
    });
    expect(bobs.map((t) => t.name)).toContain("Alice's");
    // A sweep later (the account is gone) changes nothing.
    await runErasureQueue([{ type: "sweep", user_id: alice.id }]);
    expect(await templateShareOf(bob, theirs.template_id)).toMatchObject({ uses: 2 });
    expect(await traces([alice.id, aliceTemplate])).toEqual([]);
  });
});

describe("dead letters of a deleted account", () => {
  it("go when the account owns them, or when their body names no owner but mentions it; others' stay", async () => {
    const [user, other] = [await createUser(), await createUser()];
    const letters = {
      own: notifyMessage(user, { title: "mine" }),
      othersMention: notifyMessage(other, { title: `about ${user.id}` }),
      unownedMention: {
        type: "receipts",
        pushes: [{ notification_id: `n-${user.id}`, target_id: "t", ticket_id: "k" }],
      },
      unownedElse: {
        type: "receipts",
        pushes: [{ notification_id: `n-${crypto.randomUUID()}`, target_id: "t", ticket_id: "k" }],
      },
    };
    const ids = Object.fromEntries(Object.keys(letters).map((k) => [k, `dl-${k}-${crypto.randomUUID()}`]));
    await worker.queue(
      createMessageBatch<unknown>(
        "pap-dead-letters",
        Object.entries(letters).map(([k, body]) => ({
          id: ids[k] ?? k,
          timestamp: new Date(),
          attempts: 6,
          body,
        })),
      ),
      env,
    );
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    const { results } = await env.DB.prepare(
      `SELECT message_id FROM dead_letters WHERE message_id IN (${Object.values(ids)
        .map(() => "?")
        .join(", ")})`,
    )
      .bind(...Object.values(ids))
      .all<{ message_id: string }>();
    expect(results.map((r) => r.message_id).sort()).toEqual([ids.othersMention, ids.unownedElse].sort());
  });
});

describe("the leaderboard's memory of erased accounts", () => {
  const freshShard = () =>
    env.LEADERBOARD.get(env.LEADERBOARD.idFromName(`erasure-test-${crypto.randomUUID()}`));
  const alarmOf = (stub: DurableObjectStub) =>
    runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
  const remembered = (stub: DurableObjectStub) =>
    runInDurableObject(
      stub,
      async (_instance, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM forgotten").one().n,
    );

  it("keeps each hash FORGET_MS at most: one alarm, at the earliest one due", async () => {
    const shard = freshShard();
    const clock = freezeClock();
    const start = clock.now();
    await shard.forget(["first"]);
    expect(await alarmOf(shard)).toBe(start + FORGET_MS);
    clock.tick(10 * 60_000);
    await shard.forget(["second"]);
    // Not moved later for the second: the first is due first.
    expect(await alarmOf(shard)).toBe(start + FORGET_MS);
    clock.tick(FORGET_MS - 10 * 60_000 + 1000);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await remembered(shard)).toBe(1);
    // Re-armed for the second's own moment (not the latest of all).
    expect(await alarmOf(shard)).toBe(start + 10 * 60_000 + FORGET_MS + 1);
  });

  it("refuses an erased account's late copies without hashing every entry of every update", async () => {
    const shard = freshShard();
    const week = weekStartOf(Date.now());
    const entry = (user_id: string, version = 1) => ({
      user_id,
      name: user_id,
      total_xp: 10,
      week_start: week,
      week_xp: 1,
      version,
      hidden: false,
    });
    await shard.upsert([entry("gone")]);
    await shard.forget(["gone"]);
    const digest = vi.spyOn(crypto.subtle, "digest");
    try {
      const many = Array.from({ length: 60 }, (_, i) => entry(`live-${i}`));
      expect(await shard.upsert([...many, entry("gone", 2)])).toBe(60);
      expect(digest).not.toHaveBeenCalled();
    } finally {
      digest.mockRestore();
    }
    expect(await shard.score("all_time", week, "gone")).toBeNull();
    expect(await shard.score("all_time", week, "live-0")).toMatchObject({ xp: 10 });
  });
});
