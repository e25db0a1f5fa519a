import { createMessageBatch, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FORGET_MS } from "../durable-objects/leaderboard-shard";
import { createDatabase } from "../src/db";
import { eraseStatements, unclassifiedTables } from "../src/features/account/erase-plan";
import { eraseUserFiles } from "../src/features/account/files";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import { sendEntries } from "../src/features/gamification/leaderboard";
import { weekStartOf } from "../src/features/gamification/progress";
import { claimRun, startRun } from "../src/features/learning/runs";
import { trainTaken } from "../src/features/learning/training";
import { writeNotifications } from "../src/features/notifications/delivery";
import worker from "../src/index";
import { consumeEvents } from "../src/jobs/events-consumer";
import { accountLookup } from "../src/lib/auth/account";
import { routeOutbound } from "./fakes/outbound";
import { createFakePushService } from "./fakes/push-service";
import { call, callJson, callWith, createUser, problemOf, type TestUser, testAddress } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { createFeed, feedText, icsFile, icsUtc, importIcs, vevent } from "./helpers/calendar";
import { freezeClock } from "./helpers/clock";
import { tripsAndLookupsFor } from "./helpers/counting-d1";
import { delegate, registerAgent } from "./helpers/delegation";
import { focusAction, openSocket, startFocus, type TestSocket, timerOf } from "./helpers/focus";
import { markActive, trainNow } from "./helpers/learning";
import { notify, notifyMessage } from "./helpers/notifications";
import { deliver, eventsOf, runEventsQueue, settle } from "./helpers/outbox";
import { adoptPet, giveTreats, PET_CHANNEL, petObject } from "./helpers/pets";
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

  // Files under both prefixes, a dead letter carrying the user's payload, a failed login.
  await env.FILES.put(`exports/${user.id}/export-${marker}.json`, marker);
  await env.FILES.put(`imports/${user.id}/todoist-${marker}.csv`, marker);
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
  return { user, marker, apiToken: apiToken.token, agentToken, agentId: agent.agent_id, ids };
}

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
  "focus_sessions",
  "focus_settings",
  "gamification_stats",
  "idempotency_keys",
  "learning_runs",
  "login_throttles",
  "micro_steps",
  "notification_preferences",
  "notifications",
  "pet_interactions",
  "push_devices",
  "push_subscriptions",
  "refresh_tokens",
  "split_preferences",
  "step_feedback",
  "task_assignments",
  "task_dependencies",
  "task_splits",
  "task_templates",
  "tasks",
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

/** Runs the DO's storage through SQL: which of its tables hold rows. */
async function storedIn(stub: DurableObjectStub): Promise<Record<string, number>> {
  return runInDurableObject(stub, async (_instance, state) => {
    const counts: Record<string, number> = {};
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray();
    for (const { name } of tables) {
      const where = name === "meta" ? " WHERE key <> 'schema_version'" : "";
      counts[name] = state.storage.sql
        .exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"${where}`)
        .one().n;
    }
    return counts;
  });
}

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

describe("DELETE /api/v1/auth/me: the account, everywhere", () => {
  it("erases every row, object, score and file of the account, refuses its tokens and closes its sockets; another account is untouched", {
    timeout: 180_000,
  }, async () => {
    const doomed = await fullAccount();
    const other = await fullAccount();
    const { user } = doomed;

    // The search sees the account everywhere it was written before (so it can fail).
    const before = await traces(needlesOf(doomed));
    expect(tablesOf(before)).toEqual(expect.arrayContaining(FULL_ACCOUNT_TABLES));
    expect(await boardScores(user.id)).not.toEqual([]);
    expect(await filesOf(user.id)).toHaveLength(2);
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
    // The other account has every row it had.
    expect(await settledRows(other.user.id)).toEqual(otherRows);
    expect(await boardScores(other.user.id)).not.toEqual([]);

    // The live objects hold nothing; no alarm will wake them; the boards and the bucket forgot them.
    for (const stub of [timerOf(user), petObject(user)]) {
      const stored = await storedIn(stub);
      expect(
        Object.values(stored).every((n) => n === 0),
        JSON.stringify(stored),
      ).toBe(true);
      expect(await runDurableObjectAlarm(stub)).toBe(false);
    }
    expect(await boardScores(user.id)).toEqual([]);
    expect(await filesOf(user.id)).toEqual([]);

    // Every credential is refused, reads and writes alike.
    const refused = [
      call("/api/v1/tasks", { token: user.token }),
      call("/api/v1/gamification/me", { token: user.token }),
      // Writes that would store rows for the account: any row they wrote is swept again.
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

  it("leaves the account whole and deletable when erasing its files fails", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Still here" });
    await env.FILES.put(`exports/${user.id}/keep.json`, "{}");
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
    expect(failed.headers.get("retry-after")).toBe("5");
    expect(await problemOf(failed)).toMatchObject({ code: "deletion_incomplete" });
    expect(await getTask(user, task.task_id)).toMatchObject({ title: "Still here" });

    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    expect(await traces([user.id, user.email, task.task_id])).toEqual([]);
    expect(await filesOf(user.id)).toEqual([]);
  });

  it("erases a big account in one batch of set-based statements", { timeout: 120_000 }, async () => {
    const user = await createUser();
    const TASKS = 10_000;
    const STEPS_PER_TASK = 5;
    const now = new Date().toISOString();
    const ids = Array.from({ length: TASKS }, (_, i) => `big-${user.id}-${i}`);
    for (let i = 0; i < TASKS; i += 1000) {
      const chunk = JSON.stringify(ids.slice(i, i + 1000));
      await env.DB.prepare(
        `INSERT INTO tasks (id, user_id, title, created_at, updated_at)
         SELECT value, ?2, 'Task ' || key, ?3, ?3 FROM json_each(?1)`,
      )
        .bind(chunk, user.id, now)
        .run();
      await env.DB.prepare(
        `INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, created_at, updated_at)
         SELECT t.value || '-s' || s.value, t.value, ?2, s.value, 'Step', 5, ?3, ?3
         FROM json_each(?1) AS t, json_each('[0,1,2,3,4]') AS s`,
      )
        .bind(chunk, user.id, now)
        .run();
    }
    const count = (table: string) =>
      env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`)
        .bind(user.id)
        .first<{ n: number }>()
        .then((r) => r?.n);
    expect(await count("micro_steps")).toBe(TASKS * STEPS_PER_TASK);
    const statements = eraseStatements(createDatabase(env.DB), {
      id: user.id,
      email: user.email,
      wasAdmin: true,
    });
    expect(statements.length).toBeLessThan(100);

    const started = performance.now();
    expect((await deleteAccount(user.token, { password: user.password })).status).toBe(204);
    const ms = performance.now() - started;
    console.log(`deleted ${TASKS} tasks and ${TASKS * STEPS_PER_TASK} steps in ${Math.round(ms)} ms`);
    expect(await count("tasks")).toBe(0);
    expect(await count("micro_steps")).toBe(0);
  });
});

describe("the account lookup of a login's requests", () => {
  it("is one read made beside the route's own round trips; API tokens need none", async () => {
    const user = await createUser();
    await createTask(user, { title: "Counted" });
    expect(await tripsAndLookupsFor("/api/v1/tasks", { token: user.token })).toEqual({
      status: 200,
      trips: 1,
      lookups: 1,
    });
    const body = JSON.stringify({ title: "Written" });
    expect(await tripsAndLookupsFor("/api/v1/tasks", { method: "POST", body, token: user.token })).toEqual({
      status: 201,
      trips: 1,
      lookups: 1,
    });
    // An API token is read from D1 on every request anyway: a deleted account's went with it.
    const { token } = await createApiToken(user.token, { name: "reader", scopes: ["tasks:read"] });
    expect((await tripsAndLookupsFor("/api/v1/tasks", { token })).lookups).toBe(0);
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
    const res = await callWith({ DB: failingLookup(env.DB) }, "/api/v1/tasks", {
      token: user.token,
      body: { title: "Written once" },
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
    const statements = eraseStatements(createDatabase(env.DB), {
      id: "u",
      email: "e@example.com",
      wasAdmin: false,
    });
    const sqlOf = statements.map((s) => (s as unknown as { toSQL(): { sql: string } }).toSQL().sql);
    const first = (fragment: string) => sqlOf.findIndex((s) => s.startsWith(fragment));
    expect(first('delete from "template_steps"')).toBeLessThan(first('delete from "task_templates"'));
    expect(first('delete from "event_receipts"')).toBeLessThan(first('delete from "events"'));
    expect(sqlOf.at(-1)).toMatch(/^delete from "users"/);
    // An administrator's id is taken out of other people's grants only when there can be any.
    expect(sqlOf.some((s) => s.includes("granted_by"))).toBe(false);
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

describe("the clean-up after the batch", () => {
  it("erases what in-flight work put back between the two passes", async () => {
    const user = await createUser();
    await adoptPet(user, { name: "Echo" });
    // A request that passed its checks before the deletion brings the pet back into its object
    // between the first pass and the batch: the second pass, after the batch, erases it again.
    let restored = false;
    const racing = beforeBatches(env.DB, async (statements) => {
      // The erasure's batch is the only one this large.
      if (!restored && statements > 30) {
        restored = true;
        await petObject(user).view(user.id);
      }
    });
    const res = await callWith({ DB: racing }, "/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(res.status).toBe(204);
    expect(restored).toBe(true);
    const stored = await storedIn(petObject(user));
    expect(stored.meta ?? 0, JSON.stringify(stored)).toBe(0);
    expect(await traces([user.id])).toEqual([]);
  });
});
