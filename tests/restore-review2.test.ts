/**
 * The second review of restore (review2 H1–H4, M1–M5 and the Lows), each reproduced through HTTP with
 * a crafted file: what the account and every other user see afterwards, and rows stored.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { rowSchema } from "../src/features/export/format";
import { hasRowShape } from "../src/features/imports/restore/checks";
import { ledgerCap, ledgerRefusal } from "../src/features/imports/restore/ledger";
import { claimPage } from "../src/features/learning/runs";
import { waitingWork } from "../src/features/notifications/sweeps";
import { sweepSilentAgents } from "../src/jobs/agent-sweeper";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { countingD1 } from "./helpers/counting-d1";
import { download, exportAccount } from "./helpers/export";
import {
  allTasks,
  commit,
  drainImports,
  getImport,
  type Import,
  type ImportMessage,
  rowsOf,
  runImportQueue,
} from "./helpers/imports";
import { petOf } from "./helpers/pets";
import {
  accountRows,
  craftExport,
  type ExportDocument,
  failAtTheEnd,
  firstRow,
  previewRestore,
  restoreFile,
  seedAccount,
  settleAll,
  stagedRows,
  tableOf,
  uploadRestore,
  withOwnPetAndFocus,
} from "./helpers/restore";
import { putProfile, share } from "./helpers/social";
import { completeTask, createTask } from "./helpers/tasks";

const DAY = 86_400_000;

const restore = async (user: TestUser, body: string, mode: "merge" | "replace" = "merge") =>
  (await restoreFile(user, body, mode)).done;

/** A notification row of the file's account, as the export writes one. */
const notificationRow = (doc: ExportDocument, key: string, status: string, at: string) => ({
  id: crypto.randomUUID(),
  user_id: doc.account.id,
  key,
  kind: "celebration",
  title: "t",
  body: "b",
  data: "{}",
  status,
  in_app: 1,
  channels: "[]",
  push_state: "pending",
  local_day: at.slice(0, 10),
  counts_toward_cap: 0,
  deliver_at: at,
  digest_id: null,
  enqueued_at: at,
  created_at: at,
  read_at: null,
  deleted_at: null,
});

const focusSettings = (user: TestUser) =>
  callJson<Record<string, unknown>>("/api/v1/focus/enhanced/settings", 200, { token: user.token });

describe("restore, second review", () => {
  let source: TestUser;
  let file: string;
  let sourceXp: number;

  beforeAll(async () => {
    source = await createUser();
    await seedAccount(source);
    const win = await createTask(source, { title: "Shared win" });
    await completeTask(source, win.task_id);
    await share(source, { kind: "task", ref_id: win.task_id });
    await settleAll(source);
    sourceXp = Number(
      (
        await env.DB.prepare("SELECT total_xp FROM user_progress WHERE user_id = ?")
          .bind(source.id)
          .first<{ total_xp: number }>()
      )?.total_xp,
    );
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  it("H1: mints no XP, level, level badge, share card or template popularity", async () => {
    const crafted = craftExport(file, (doc) => {
      const ledger = tableOf(doc, "xp_ledger");
      const row = firstRow(doc, "xp_ledger");
      const step = ledger.find((r) => String(r.source_key).startsWith("step:"));
      for (let i = 0; i < 5; i++)
        ledger.push({ ...row, id: crypto.randomUUID(), source_key: `manual:f${i}`, amount: 1_000_000_000 });
      ledger.push({ ...row, id: crypto.randomUUID(), source_key: `task:${crypto.randomUUID()}`, amount: 50 });
      ledger.push({ ...row, id: crypto.randomUUID(), source_key: "challenge:nonsense", amount: 10 });
      ledger.push({ ...row, id: crypto.randomUUID(), source_key: `bonus:${step?.source_key}`, amount: -40 });
      ledger.push({ ...row, id: crypto.randomUUID(), source_key: `pet:${step?.source_key}`, amount: 900 });
      const at = String(row.created_at);
      tableOf(doc, "user_badges").push({ user_id: doc.account.id, badge_id: "level_gold", unlocked_at: at });
      Object.assign(firstRow(doc, "task_templates"), {
        is_public: 1,
        uses: 1_000_000_000_000,
        times_applied: 1_000_000_000_000,
        name: "FORGED POPULAR",
      });
      const shares = tableOf(doc, "social_shares");
      const card = firstRow(doc, "social_shares");
      shares.push({
        ...card,
        id: crypto.randomUUID(),
        snapshot: JSON.stringify({
          v: 1,
          kind: "level",
          level: 999999,
          total_xp: 123456789012,
          creature: null,
        }),
      });
      shares.push({
        ...card,
        id: crypto.randomUUID(),
        snapshot: JSON.stringify({
          v: 1,
          kind: "achievement",
          badge_id: "steps_bronze",
          name: "Official Staff",
          description: "Verified by the platform team",
          tier: "bronze",
          unlocked_at: at,
          creature: null,
        }),
      });
    });
    const user = await createUser();
    const previewed = await previewRestore(user, crafted);
    // Refused rows are problems of the preview (left out), not a failure.
    // 5 manual grants, a challenge no day had, a negative bonus, a pet share above its rule (the task
    // row names no work of the file: the final batch drops it).
    expect(previewed.preview.counts.problems).toBe(8);
    expect(previewed.preview.problems.map((p) => p.message).join("\n")).toMatch(/manual grant/);
    expect(previewed.preview.problems.every((p) => p.skipped)).toBe(true);
    const { sent } = await commit(user, previewed.import_id, "merge");
    await drainImports(sent);
    await settleAll(user);
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    const progress = await env.DB.prepare("SELECT total_xp, level FROM user_progress WHERE user_id = ?")
      .bind(user.id)
      .first<{ total_xp: number; level: number }>();
    // Exactly the XP the source account earned: nothing forged counts.
    expect(progress?.total_xp).toBe(sourceXp);
    const badges = (
      await env.DB.prepare("SELECT badge_id FROM user_badges WHERE user_id = ?")
        .bind(user.id)
        .all<{ badge_id: string }>()
    ).results.map((r) => r.badge_id);
    expect(badges).not.toContain("level_gold");
    const cards = JSON.stringify(
      await callJson<unknown>("/api/v1/social/shares", 200, { token: user.token }),
    );
    expect(cards).not.toContain("999999");
    expect(cards).not.toContain("Official Staff");
    expect(JSON.stringify(done.result?.notes)).toMatch(/share card/);
    const other = await createUser();
    const popular = await callJson<unknown>("/api/v1/templates/popular", 200, { token: other.token });
    expect(JSON.stringify(popular)).not.toContain("FORGED POPULAR");
    const template = await env.DB.prepare(
      "SELECT uses, times_applied, is_public FROM task_templates WHERE user_id = ? AND name = 'FORGED POPULAR'",
    )
      .bind(user.id)
      .first();
    expect(template).toEqual({ uses: 0, times_applied: 0, is_public: 0 });
  });

  it("H1: ledger rows only within their grant rules (unit)", () => {
    const id = crypto.randomUUID();
    expect(ledgerCap(`step:${id}`)).toBe(25);
    expect(ledgerCap(`task:${id}`)).toBe(50);
    expect(ledgerCap(`focus:${id}`)).toBe(65);
    expect(ledgerCap(`bonus:task:${id}`)).toBe(100);
    expect(ledgerCap(`pet:focus:${id}`)).toBe(7);
    expect(ledgerCap(`pet:challenge:${id}`)).toBeNull();
    expect(ledgerCap("manual:x")).toBeNull();
    expect(ledgerCap("challenge:not-a-day:steps")).toBeNull();
    expect(ledgerRefusal({ source_key: `step:${id}`, amount: 25 })).toBeNull();
    expect(ledgerRefusal({ source_key: `step:${id}`, amount: 26 })).toMatch(/more than/);
    expect(ledgerRefusal({ source_key: `step:${id}`, amount: -1 })).toMatch(/negative/);
    expect(ledgerRefusal({ source_key: `step:${id}`, amount: 2 ** 53 })).toMatch(/negative or invalid/);
  });

  it("H2: the fast shape check says what rowSchema says on integer boundaries", () => {
    const doc = JSON.parse(file) as ExportDocument;
    const row = firstRow(doc, "xp_ledger");
    for (const amount of [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, -(2 ** 53), 9e18, 1.5, Number.NaN]) {
      const candidate = { ...row, amount };
      expect(hasRowShape("xp_ledger", candidate), String(amount)).toBe(
        rowSchema("xp_ledger")?.safeParse(candidate).success,
      );
    }
  });

  it("H2: a final batch that fails for good leaves the pet and focus settings as they were, discard too", async () => {
    const user = await withOwnPetAndFocus();
    const before = await accountRows(user.id);
    const importId = await failAtTheEnd(user, file, "replace");
    expect((await petOf(user)).name).toBe("Mine");
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(33);
    expect((await call(`/api/v1/import/${importId}`, { method: "DELETE", token: user.token })).status).toBe(
      204,
    );
    expect(await stagedRows(user.id, importId)).toBe(0);
    expect(await accountRows(user.id)).toEqual(before);
  });

  it("H3: staged rows are inert to the scans of every user (digests, public templates, agent sweeper)", async () => {
    const other = await createUser();
    const otherFolded = crypto.randomUUID();
    await env.DB.prepare(
      `INSERT INTO notifications (id, user_id, key, kind, title, body, data, status, in_app, channels, push_state, local_day,
        counts_toward_cap, deliver_at, digest_id, enqueued_at, created_at)
       VALUES (?1, ?2, 'k1', 'celebration', 't', 'b', '{}', 'folded', 1, '[]', 'none', ?3, 0, ?4, NULL, ?4, ?4)`,
    )
      .bind(
        otherFolded,
        other.id,
        new Date(Date.now() - DAY).toISOString().slice(0, 10),
        new Date(Date.now() - DAY).toISOString(),
      )
      .run();
    const old = new Date(Date.now() - 400 * DAY).toISOString();
    const crafted = craftExport(file, (doc) => {
      const list = tableOf(doc, "notifications");
      for (let i = 0; i < 600; i++)
        list.push(notificationRow(doc, `k${i}`, i % 2 ? "folded" : "deferred", old));
      Object.assign(firstRow(doc, "task_templates"), { is_public: 1, name: "STAGED PUBLIC" });
      Object.assign(firstRow(doc, "agents"), { status: "idle", last_active_at: old, current_task_count: 3 });
    });
    const attacker = await createUser();
    const importId = await failAtTheEnd(attacker, crafted);
    expect(await stagedRows(attacker.id, importId)).toBeGreaterThan(600);
    const work = await waitingWork(createDatabase(env.DB), Date.now(), 15);
    expect(work.filter((m) => m.type === "digest").map((m) => m.user_id)).toContain(other.id);
    expect(JSON.stringify(work)).not.toContain("restore:");
    const list = await callJson<unknown>("/api/v1/templates?limit=100", 200, { token: other.token });
    const popular = await callJson<unknown>("/api/v1/templates/popular", 200, { token: other.token });
    expect(JSON.stringify(list)).not.toContain("STAGED PUBLIC");
    expect(JSON.stringify(popular)).not.toContain("STAGED PUBLIC");
    const staged = `restore:${attacker.id}:${importId}`;
    await sweepSilentAgents(env, Date.now());
    const agents = await env.DB.prepare("SELECT status, current_task_count FROM agents WHERE user_id = ?")
      .bind(staged)
      .all();
    expect(agents.results.length).toBeGreaterThan(0);
    expect(agents.results.every((a) => a.status === "offline" && a.current_task_count === 0)).toBe(true);
    // The nightly learning page reads every user's rollups: a staging owner is no user (review3 L1), and
    // no learning_runs row (a table the staging erasure does not cover, L4) is written for one.
    const stagedRollups = await env.DB.prepare(
      "SELECT count(*) AS n FROM analytics_rollups WHERE user_id = ? AND dim = 'all'",
    )
      .bind(staged)
      .first<{ n: number }>();
    expect(stagedRollups?.n).toBeGreaterThan(0);
    const night = new Date().toISOString().slice(0, 10);
    const claimed: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 200; i++) {
      const page = await claimPage(createDatabase(env.DB), night, after, Date.now(), 500);
      claimed.push(...page.users);
      if (page.users.length < 500) break;
      after = page.users.at(-1) ?? null;
    }
    expect(claimed.filter((u) => u.startsWith("restore:"))).toEqual([]);
    const runs = await env.DB.prepare(
      "SELECT count(*) AS n FROM learning_runs WHERE user_id LIKE 'restore:%'",
    ).first<{
      n: number;
    }>();
    expect(runs?.n).toBe(0);
    // Once restored, the file's waiting notifications are history: delivered, never pushed late.
    const fresh = await createUser();
    expect((await restore(fresh, crafted)).status).toBe("completed");
    const waiting = await env.DB.prepare(
      "SELECT count(*) AS n FROM notifications WHERE user_id = ? AND (status IN ('folded', 'deferred') OR push_state = 'pending')",
    )
      .bind(fresh.id)
      .first<{ n: number }>();
    expect(waiting?.n).toBe(0);
  });

  it("H4: a restored handle goes through the handle rules, the cooldown and its own key", async () => {
    const victim = await createUser();
    const held = `al${crypto.randomUUID().slice(0, 6).replace(/-/g, "")}`;
    await putProfile(victim, { handle: held, public: true });
    await putProfile(victim, { handle: `${held}z`, public: true });
    const fresh = `Dx${crypto.randomUUID().slice(0, 6).replace(/-/g, "")}`;
    for (const [handle, key, kept] of [
      [held, held, false],
      ["admin", "admin", false],
      [fresh, `k${held}`, true],
    ] as const) {
      const crafted = craftExport(file, (doc) => {
        const now = new Date().toISOString();
        doc.tables.social_profiles = [
          {
            user_id: doc.account.id,
            handle,
            handle_key: key,
            is_public: 1,
            showcase: "[]",
            released_handle_key: held,
            released_at: now,
            created_at: now,
            updated_at: now,
          },
        ];
      });
      const attacker = await createUser();
      const done = await restore(attacker, crafted);
      expect(done.status).toBe("completed");
      const profile = await env.DB.prepare(
        "SELECT handle, handle_key, released_handle_key FROM social_profiles WHERE user_id = ?",
      )
        .bind(attacker.id)
        .first();
      if (kept)
        expect(profile).toEqual({
          handle: fresh,
          handle_key: fresh.toLowerCase(),
          released_handle_key: null,
        });
      else {
        expect(profile).toBeNull();
        expect(JSON.stringify(done.result?.notes)).toMatch(/profile was not restored/);
      }
    }
    const back = await call("/api/v1/social/profile", {
      method: "PUT",
      token: victim.token,
      body: { handle: held, public: true },
    });
    expect(back.status).toBe(200);
  });

  it("M1: a merge keeps the account's own pet and focus settings, and says so", async () => {
    const user = await withOwnPetAndFocus();
    const done = await restore(user, file, "merge");
    expect(done.status).toBe("completed");
    const pet = await petOf(user);
    expect([pet.name, pet.species]).toEqual(["Mine", "cat"]);
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(33);
    const notes = JSON.stringify(done.result?.notes);
    expect(notes).toMatch(/pet was not restored/);
    expect(notes).toMatch(/focus settings were not restored/);
    // A fresh account gets both.
    const fresh = await createUser();
    await restore(fresh, file, "merge");
    expect((await petOf(fresh)).name).toBe("Hoot");
    expect((await focusSettings(fresh)).pomodoro_work_minutes).toBe(40);
  });

  it("M2: a replace by its own link changes nothing of the account while the job runs", async () => {
    const owner = await createUser();
    await seedAccount(owner, { pet: false });
    const done = await exportAccount(owner, "json");
    const before = await allTasks(owner);
    const res = await uploadRestore(owner, JSON.stringify({ download_url: done.download_url }));
    expect(res.status).toBe(201);
    const previewed = (await res.json()) as Import;
    const { sent } = await commit(owner, previewed.import_id, "replace");
    const run = await runImportQueue(sent, 1, { chunkItems: 2, maxChunks: 1 });
    expect((await getImport(owner, previewed.import_id)).status).toBe("running");
    expect((await allTasks(owner)).map((t) => t.task_id).sort()).toEqual(before.map((t) => t.task_id).sort());
    await drainImports(run.sent as ImportMessage[]);
    expect((await getImport(owner, previewed.import_id)).status).toBe("completed");
    expect((await allTasks(owner)).map((t) => t.task_id).sort()).toEqual(before.map((t) => t.task_id).sort());
    expect(await rowsOf("import_items", owner.id)).toBe(0);
  });

  it("M3: a restore leaves the account's own counters and badges (a reopened task keeps its count)", async () => {
    const small = await createUser();
    await createTask(small, { title: "tiny" });
    const done = await exportAccount(small, "json");
    const tiny = await (await download(done.download_url ?? "")).text();
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const task = await createTask(user, { title: `t${i}` });
      ids.push(task.task_id);
      await completeTask(user, task.task_id);
    }
    await settleAll(user);
    await callJson(`/api/v1/tasks/${ids[0]}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "pending" },
    });
    await settleAll(user);
    const standing = async () => ({
      badges: (
        await env.DB.prepare("SELECT badge_id FROM user_badges WHERE user_id = ? ORDER BY badge_id")
          .bind(user.id)
          .all()
      ).results,
      stats: await env.DB.prepare("SELECT * FROM gamification_stats WHERE user_id = ?").bind(user.id).first(),
    });
    const before = await standing();
    expect(JSON.stringify(before.badges)).toContain("tasks_bronze");
    expect((await restore(user, tiny, "merge")).status).toBe("completed");
    expect(await standing()).toEqual(before);
  });

  it("M4: a body that is not the gzip it says it is answers 422 problem+json", async () => {
    const user = await createUser();
    for (const body of [
      `this is not gzip at all, just text ${"x".repeat(100)}`,
      new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]),
    ]) {
      const res = await uploadRestore(user, body, { "content-encoding": "gzip" });
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/problem\+json/);
      expect((await problemOf(res)).detail).toMatch(/not valid gzip/);
    }
  });

  it("M5: a delivery stops well under D1's 1,000 statements", async () => {
    const crafted = craftExport(file, (doc) => {
      const list = tableOf(doc, "notifications");
      const at = new Date().toISOString();
      for (let i = 0; i < 1_200; i++) list.push(notificationRow(doc, `m${i}`, "delivered", at));
    });
    const user = await createUser();
    const previewed = await previewRestore(user, crafted);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const counting = countingD1(env.DB);
    const run = await runImportQueue(sent, 1, { chunkItems: 1, budgetMs: 600_000 }, { DB: counting.db });
    expect(run.sent).toHaveLength(1);
    expect(counting.statements()).toBeLessThanOrEqual(800);
    await drainImports(run.sent as ImportMessage[]);
    expect((await getImport(user, previewed.import_id)).status).toBe("completed");
  });

  it("Low: two uploads at once cannot both pass the limit of pending restores", async () => {
    const user = await createUser();
    await previewRestore(user, file);
    const answers = await Promise.all([uploadRestore(user, file), uploadRestore(user, file)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it("Low: a replace never moves the progress row's version back", async () => {
    const user = await createUser();
    await restore(user, file, "merge");
    await env.DB.prepare("UPDATE user_progress SET version = 500 WHERE user_id = ?").bind(user.id).run();
    await restore(user, file, "replace");
    const row = await env.DB.prepare("SELECT version FROM user_progress WHERE user_id = ?")
      .bind(user.id)
      .first<{ version: number }>();
    expect(row?.version).toBeGreaterThan(500);
  });
});
