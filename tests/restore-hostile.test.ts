/**
 * Restores of crafted files (anyone can export their account and edit the file): each finding of the
 * restore review reproduced through HTTP, with the other person's rows — every table — unchanged, and
 * a restore that fails or is discarded leaving the restoring account exactly as it was.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { erasePlan } from "../src/features/account/erase-plan";
import { runErasePlan } from "../src/features/account/erase-run";
import { MAX_RESENDS, STALE_AFTER_MS } from "../src/features/imports/limits";
import { IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { agentsOf, assignmentsOf, delegate, registerAgent } from "./helpers/delegation";
import { download, exportAccount } from "./helpers/export";
import {
  commit,
  drainImports,
  getImport,
  type ImportMessage,
  rowsOf,
  runImportQueue,
  sweepImports,
} from "./helpers/imports";
import { adoptPet, petOf } from "./helpers/pets";
import {
  accountRows,
  craftExport,
  type ExportDocument,
  firstRow,
  previewRestore,
  restoreFile,
  seedAccount,
  settleAll,
  stagedRows,
  tableOf,
  uploadRestore,
} from "./helpers/restore";
import { share } from "./helpers/social";
import { completeTask, createTask } from "./helpers/tasks";
import { createTemplate } from "./helpers/templates";

const MINUTE = 60_000;
const completedStatus = "completed";

const restore = async (user: TestUser, body: string, mode: "merge" | "replace" = "merge") =>
  (await restoreFile(user, body, mode)).done;

/** A refused file: 422 naming the problem, and nothing stored for the uploader. */
async function refused(user: TestUser, body: string, detail: RegExp) {
  const before = await accountRows(user.id);
  const res = await uploadRestore(user, body);
  expect(res.status).toBe(422);
  expect((await problemOf(res)).detail).toMatch(detail);
  expect(await rowsOf("imports", user.id)).toBe(0);
  expect(await accountRows(user.id)).toEqual(before);
}

describe("restoring crafted files", () => {
  let victim: TestUser;
  let victimTask: string;
  let victimTemplate: string;
  let attacker: TestUser;
  let agentName: string;
  let file: string;

  beforeAll(async () => {
    victim = await createUser();
    const task = await createTask(victim, {
      title: "Victim's task",
      micro_steps: [{ description: "Victim's step" }],
    });
    victimTask = task.task_id;
    const template = await createTemplate(victim, {
      name: "Victim's public template",
      category: "Work",
      is_public: true,
      steps: [{ description: "Victim's template step" }],
    });
    victimTemplate = template.template_id;
    // The victim's own events (their task's analytics) are handled before anything is compared: rows
    // they write later would look like the restore's doing.
    await settleAll(victim);
    attacker = await createUser();
    await seedAccount(attacker);
    const agent = await registerAgent(attacker, {
      agent_id: `backend-agent-${crypto.randomUUID().slice(0, 6)}`,
    });
    agentName = agent.agent_id;
    const work = await createTask(attacker, { title: "Delegated", micro_steps: [{ description: "Do it" }] });
    const { assignment } = await delegate(attacker, { task_id: work.task_id, delegation_mode: "DELEGATE" });
    for (const [token, text] of [
      [attacker.token, "Use the staging database."],
      [agent.token ?? "", "Will do."],
    ] as const) {
      await callJson(`/api/v1/delegation/assignments/${assignment?.assignment_id}/notes`, 201, {
        method: "POST",
        token,
        body: { text },
      });
    }
    const shared = await createTask(attacker, { title: "Shared win" });
    await completeTask(attacker, shared.task_id);
    await share(attacker, { kind: "task", ref_id: shared.task_id });
    await settleAll(attacker);
    const done = await exportAccount(attacker, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  it("writes nothing under another person's task or template, whatever account id the file claims (item 1)", async () => {
    const before = await accountRows(victim.id);
    const craftedFor = (target: TestUser) =>
      craftExport(file, (doc) => {
        // Claims to be the target's own export: ids were kept on the file's word, so the victim's
        // ids below went in as they are.
        doc.account.id = target.id;
        tableOf(doc, "template_steps").push({
          ...firstRow(doc, "template_steps"),
          id: crypto.randomUUID(),
          template_id: victimTemplate,
          description: "INJECTED: visit evil.example",
        });
        tableOf(doc, "micro_steps").push({
          ...firstRow(doc, "micro_steps"),
          id: crypto.randomUUID(),
          task_id: victimTask,
          description: "INJECTED step",
        });
        tableOf(doc, "task_assignments").push({
          ...firstRow(doc, "task_assignments"),
          id: crypto.randomUUID(),
          task_id: victimTask,
        });
      });
    for (const target of [attacker, await createUser()]) {
      const done = await restore(target, craftedFor(target));
      expect(done.status).toBe("completed");
    }
    expect(await accountRows(victim.id)).toEqual(before);
    const template = await callJson<{ steps: { description: string }[] }>(
      `/api/v1/templates/${victimTemplate}`,
      200,
      { token: victim.token },
    );
    expect(template.steps.map((s) => s.description)).toEqual(["Victim's template step"]);
    const stray = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM task_assignments WHERE task_id = ?1) + (SELECT count(*) FROM micro_steps WHERE task_id = ?1 AND user_id <> ?2) AS n",
    )
      .bind(victimTask, victim.id)
      .first<{ n: number }>();
    expect(stray?.n).toBe(0);
  });

  it("keeps ids only for the caller's own export by its link; an uploaded file gets new ones", async () => {
    const owner = await createUser();
    await createTask(owner, { title: "Mine", micro_steps: [{ description: "a" }] });
    const done = await exportAccount(owner, "json");
    const link = done.download_url ?? "";
    const own = await (await download(link)).text();
    const titled = async () =>
      (
        await env.DB.prepare(
          "SELECT count(*) AS n FROM tasks WHERE user_id = ? AND title = 'Mine' AND deleted_at IS NULL",
        )
          .bind(owner.id)
          .first<{ n: number }>()
      )?.n;
    // By its link: the same rows, nothing added.
    expect((await restore(owner, JSON.stringify({ download_url: link }))).status).toBe(completedStatus);
    expect(await titled()).toBe(1);
    // Uploaded, the file is only what its sender says: its rows come in as new ones.
    expect((await restore(owner, own)).status).toBe(completedStatus);
    expect(await titled()).toBe(2);
  });

  it("refuses a row that breaks a CHECK constraint at the preview (item 2)", async () => {
    const crafted = craftExport(file, (doc) => {
      firstRow(doc, "micro_steps").estimated_minutes = 11;
    });
    await refused(await createUser(), crafted, /estimated_minutes/);
  });

  it("refuses a JSON column that is not JSON, and a share snapshot that is not a card's (item 5)", async () => {
    const user = await createUser();
    await refused(
      user,
      craftExport(file, (doc) => {
        firstRow(doc, "social_shares").snapshot = "not json";
      }),
      /snapshot is not JSON/,
    );
    await refused(
      user,
      craftExport(file, (doc) => {
        firstRow(doc, "social_shares").snapshot = JSON.stringify({ kind: "level", level: "ADMIN" });
      }),
      /snapshot/,
    );
  });

  it("refuses rows of one table with different columns (item 6)", async () => {
    const crafted = craftExport(file, (doc) => {
      const rows = tableOf(doc, "tasks");
      const second = rows[1];
      if (!second) throw new Error("the seed has several tasks");
      delete second.description;
    });
    await refused(await createUser(), crafted, /other columns than its first row/);
  });

  it("refuses a row larger than D1 stores (item 10)", async () => {
    const crafted = craftExport(file, (doc) => {
      firstRow(doc, "tasks").description = "x".repeat(1_950_000);
    });
    await refused(await createUser(), crafted, /larger than/);
  });

  it("mints no leaderboard standing: restored XP is history, the boards' opt-in and name are the account's (item 4)", async () => {
    const crafted = craftExport(file, (doc) => {
      const ledger = tableOf(doc, "xp_ledger");
      const template = firstRow(doc, "xp_ledger");
      for (let i = 0; i < 50; i++)
        ledger.push({
          ...template,
          id: crypto.randomUUID(),
          source_key: `manual:forged-${i}`,
          amount: 1_000_000,
        });
      const progress = firstRow(doc, "user_progress");
      Object.assign(progress, {
        leaderboard_opt_in: 1,
        leaderboard_name: "ADMIN (official)",
        board_xp: 48_000,
        board_week_xp: 48_000,
      });
    });
    const fresh = await createUser();
    expect((await restore(fresh, crafted)).status).toBe("completed");
    const progress = await env.DB.prepare(
      "SELECT total_xp, board_xp, board_week_xp, board_day_xp, leaderboard_opt_in, leaderboard_name FROM user_progress WHERE user_id = ?",
    )
      .bind(fresh.id)
      .first<Record<string, number | string | null>>();
    expect(progress).toMatchObject({
      board_xp: 0,
      board_week_xp: 0,
      board_day_xp: 0,
      leaderboard_opt_in: 0,
      leaderboard_name: null,
    });
    // Manual grants are the platform's, never a file's (review2 H1): the total is the file's honest XP.
    const honest = tableOf(JSON.parse(file) as ExportDocument, "xp_ledger").reduce(
      (sum, row) => sum + Number(row.amount),
      0,
    );
    expect(Number(progress?.total_xp)).toBe(honest);
    const board = await callJson<{ entries?: { name?: string }[]; me: unknown }>(
      "/api/v1/gamification/enhanced/leaderboard",
      200,
      { token: victim.token },
    );
    expect(JSON.stringify(board)).not.toContain("ADMIN (official)");
    // An account that opted in keeps its own name and its own standing.
    const opted = await createUser();
    const name = `Mine ${crypto.randomUUID().slice(0, 6)}`;
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: opted.token,
      body: { opt_in: true, display_name: name },
    });
    await restore(opted, crafted, "replace");
    const mine = await env.DB.prepare(
      "SELECT board_xp, leaderboard_opt_in, leaderboard_name FROM user_progress WHERE user_id = ?",
    )
      .bind(opted.id)
      .first();
    expect(mine).toEqual({ board_xp: 0, leaderboard_opt_in: 1, leaderboard_name: name });
  });

  it("caps forged counters, longest streak and badges by the rows that back them (item 4)", async () => {
    const standingOf = async (user: TestUser) => ({
      badges: (
        await env.DB.prepare("SELECT badge_id FROM user_badges WHERE user_id = ? ORDER BY badge_id")
          .bind(user.id)
          .all<{ badge_id: string }>()
      ).results.map((r) => r.badge_id),
      stats: await env.DB.prepare(
        "SELECT steps_completed, tasks_completed, focus_sessions, pet_feeds FROM gamification_stats WHERE user_id = ?",
      )
        .bind(user.id)
        .first(),
      streak: (
        await env.DB.prepare("SELECT longest_streak FROM user_progress WHERE user_id = ?")
          .bind(user.id)
          .first<{ longest_streak: number }>()
      )?.longest_streak,
    });
    const honest = await createUser();
    await restore(honest, file);
    const crafted = craftExport(file, (doc) => {
      const stats = firstRow(doc, "gamification_stats");
      Object.assign(stats, {
        steps_completed: 100_000,
        tasks_completed: 100_000,
        focus_sessions: 5_000,
        pet_feeds: 9_999,
      });
      firstRow(doc, "user_progress").longest_streak = 400;
      const badges = tableOf(doc, "user_badges");
      const at = String(firstRow(doc, "xp_ledger").created_at);
      const ids = ["steps_gold", "tasks_gold", "streak_gold", "focus_gold", "level_gold"];
      for (const badge_id of ids) badges.push({ user_id: doc.account.id, badge_id, unlocked_at: at });
    });
    const forger = await createUser();
    await restore(forger, crafted);
    expect(await standingOf(forger)).toEqual(await standingOf(honest));
  });

  it("brings an assignment's notes back on the restored assignment; a note naming any other assignment is skipped", async () => {
    const other = await createUser();
    const task = await createTask(other, { title: "Other's own work" });
    const { assignment: theirs } = await delegate(other, { task_id: task.task_id, delegation_mode: "DO" });
    const theirNotes = `/api/v1/delegation/assignments/${theirs?.assignment_id}/notes`;
    const crafted = craftExport(file, (doc) => {
      for (const assignment_id of [theirs?.assignment_id, crypto.randomUUID()])
        tableOf(doc, "assignment_notes").push({
          ...firstRow(doc, "assignment_notes"),
          id: crypto.randomUUID(),
          assignment_id,
          text: "INJECTED note",
        });
    });
    const fresh = await createUser();
    expect((await restore(fresh, crafted)).status).toBe(completedStatus);
    const [restored] = await assignmentsOf(fresh, agentName);
    const original = firstRow(JSON.parse(file) as ExportDocument, "task_assignments");
    expect(restored?.assignment_id).not.toBe(original.id);
    const notes = await callJson<{ author: string; text: string; assignment_id: string }[]>(
      `/api/v1/delegation/assignments/${restored?.assignment_id}/notes`,
      200,
      { token: fresh.token },
    );
    expect(notes.map((n) => [n.author, n.text])).toEqual([
      ["owner", "Use the staging database."],
      [`agent:${agentName}`, "Will do."],
    ]);
    expect(await callJson(theirNotes, 200, { token: other.token })).toEqual([]);
    const injected = await env.DB.prepare(
      "SELECT count(*) AS n FROM assignment_notes WHERE text = 'INJECTED note'",
    ).first<{ n: number }>();
    expect(injected?.n).toBe(0);
  });

  it("skips a note by anyone but the person or the assignment's own agent, and notes past the 200th", async () => {
    const crafted = craftExport(file, (doc) => {
      const notes = tableOf(doc, "assignment_notes");
      const note = firstRow(doc, "assignment_notes");
      notes.push({ ...note, id: crypto.randomUUID(), author: "agent:intruder", text: "Not its agent" });
      for (let i = 0; i < 250; i++)
        notes.push({ ...note, id: crypto.randomUUID(), author: "owner", text: `Filler ${i}` });
    });
    const fresh = await createUser();
    expect((await restore(fresh, crafted)).status).toBe(completedStatus);
    const stored = await env.DB.prepare(
      "SELECT author, text FROM assignment_notes WHERE user_id = ? ORDER BY id",
    )
      .bind(fresh.id)
      .all<{ author: string; text: string }>();
    expect(stored.results).toHaveLength(200);
    expect(stored.results.map((n) => n.author)).not.toContain("agent:intruder");
    expect(stored.results.map((n) => n.text)).toContain("Will do.");
  });

  it("keeps the agents' names (item 8)", async () => {
    const fresh = await createUser();
    await restore(fresh, file);
    expect((await agentsOf(fresh)).map((a) => a.agent_id)).toContain(agentName);
    const assignment = await env.DB.prepare("SELECT agent_id FROM task_assignments WHERE user_id = ?")
      .bind(fresh.id)
      .first<{ agent_id: string }>();
    expect(assignment?.agent_id).toBe(agentName);
  });

  it("gives the pet's interactions the id of the pet the account keeps (item 9)", async () => {
    const fresh = await createUser();
    await adoptPet(fresh, { species: "cat", name: "Mine" });
    const newcomer = await createUser();
    for (const user of [fresh, newcomer]) await restore(user, file);
    // An account without a pet gets the file's, its row written by the pet's object.
    const row = await env.DB.prepare("SELECT id, name FROM user_pets WHERE user_id = ?")
      .bind(newcomer.id)
      .first<{ id: string; name: string }>();
    expect(row?.id).toBe((await petOf(newcomer)).pet_id);
    const pets = await env.DB.prepare("SELECT id FROM user_pets WHERE user_id = ?")
      .bind(fresh.id)
      .all<{ id: string }>();
    expect(pets.results).toHaveLength(1);
    const used = await env.DB.prepare("SELECT DISTINCT pet_id FROM pet_interactions WHERE user_id = ?")
      .bind(fresh.id)
      .all<{ pet_id: string }>();
    expect(used.results.length).toBeGreaterThan(0);
    expect(used.results.map((r) => r.pet_id)).toEqual([pets.results[0]?.id]);
  });

  it("takes the file's settings in replace mode and keeps the account's in merge mode (item 11)", async () => {
    const crafted = craftExport(file, (doc) => {
      const prefs = tableOf(doc, "notification_preferences");
      prefs.length = 0;
      prefs.push({
        user_id: attacker.id,
        kinds: "{}",
        quiet_start: null,
        quiet_end: null,
        daily_cap: 7,
        digest: "off",
        due_soon_minutes: "[60]",
        updated_at: new Date().toISOString(),
      });
    });
    const capOf = async (user: TestUser) =>
      (await callJson<{ daily_cap: number }>("/api/v1/notifications/preferences", 200, { token: user.token }))
        .daily_cap;
    for (const [mode, expected] of [
      ["merge", 3],
      ["replace", 7],
    ] as const) {
      const user = await createUser();
      await callJson("/api/v1/notifications/preferences", 200, {
        method: "PUT",
        token: user.token,
        body: { daily_cap: 3 },
      });
      await restore(user, crafted, mode);
      expect(await capOf(user)).toBe(expected);
    }
  });

  it("restores a file that starts with a byte-order mark, resuming at the right bytes (item 7)", async () => {
    const fresh = await createUser();
    const previewed = await previewRestore(fresh, `\uFEFF${file}`);
    const { sent } = await commit(fresh, previewed.import_id, "merge");
    await drainImports(sent, { chunkItems: 3, maxChunks: 1 });
    expect((await getImport(fresh, previewed.import_id)).status).toBe("completed");
  });
});

describe("uploaded restores waiting", () => {
  it("are at most two per person: a third is 409 until one is discarded", async () => {
    const source = await createUser();
    await createTask(source, { title: "One" });
    const done = await exportAccount(source, "json");
    const own = await (await download(done.download_url ?? "")).text();
    const user = await createUser();
    const firstOne = await previewRestore(user, own);
    await previewRestore(user, own);
    const third = await uploadRestore(user, own);
    expect(third.status).toBe(409);
    expect((await problemOf(third)).detail).toMatch(/commit or discard/);
    // A restore by link stores no file: it is not counted.
    expect((await uploadRestore(user, JSON.stringify({ download_url: done.download_url }))).status).toBe(201);
    expect(
      (await call(`/api/v1/import/${firstOne.import_id}`, { method: "DELETE", token: user.token })).status,
    ).toBe(204);
    expect((await uploadRestore(user, own)).status).toBe(201);
  });
});

describe("a restore that does not complete", () => {
  let file: string;

  beforeAll(async () => {
    const source = await createUser();
    await seedAccount(source, {
      tasks: Array.from({ length: 6 }, (_, i) => ({ title: `Extra ${i}`, steps: ["a", "b"], done: 1 })),
    });
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  /** Commits, writes one chunk, then fails every delivery past the retries. */
  async function failHalfway(user: TestUser, mode: "merge" | "replace") {
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, mode);
    const first = await runImportQueue(sent, 1, { chunkItems: 5, maxChunks: 1 });
    const next = first.sent as ImportMessage[];
    expect(next).toHaveLength(1);
    // A replace of a file restored before stages nothing new: its tasks are the account's (hidden).
    if (mode === "merge") expect(await stagedRows(user.id, previewed.import_id)).toBeGreaterThan(0);
    await runImportQueue(next, IMPORTS_MAX_RETRIES + 1, {
      chunkItems: 5,
      beforeChunk: () => {
        throw new Error("D1 is down");
      },
    });
    expect((await getImport(user, previewed.import_id)).status).toBe("failed");
    return previewed.import_id;
  }

  it("shows nothing while it stops halfway, and a discard leaves every table as it was (item 2)", async () => {
    const user = await createUser();
    await seedAccount(user, { pet: false });
    const before = await accountRows(user.id);
    const importId = await failHalfway(user, "merge");
    expect(await accountRows(user.id)).toEqual(before);
    expect((await call(`/api/v1/import/${importId}`, { method: "DELETE", token: user.token })).status).toBe(
      204,
    );
    expect(await stagedRows(user.id, importId)).toBe(0);
    expect(await accountRows(user.id)).toEqual(before);
  });

  it("undoes a replace that hid the account's own copies of the file's tasks", async () => {
    const user = await createUser();
    await restore(user, file);
    const before = await accountRows(user.id);
    const importId = await failHalfway(user, "replace");
    expect((await call(`/api/v1/import/${importId}`, { method: "DELETE", token: user.token })).status).toBe(
      204,
    );
    expect(await accountRows(user.id)).toEqual(before);
  });

  it("fails a file found bad halfway by the job's check, erasing what it staged (item 2)", async () => {
    const user = await createUser();
    await seedAccount(user, { pet: false });
    const before = await accountRows(user.id);
    const previewed = await previewRestore(user, file);
    // As for a file too big to check in the upload's request: the job checks it as it writes.
    await env.DB.prepare("UPDATE imports SET mapping = json_set(mapping, '$.validated', '0') WHERE id = ?")
      .bind(previewed.import_id)
      .run();
    const bad = craftExport(file, (doc) => {
      const steps = tableOf(doc, "micro_steps");
      const last = steps.at(-1);
      if (last) last.estimated_minutes = 11;
    });
    const [key] = (await env.FILES.list({ prefix: `imports/${user.id}/${previewed.import_id}/` })).objects;
    await env.FILES.put(key?.key ?? "", bad);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const starts: number[] = [];
    await drainImports(sent, { chunkItems: 5, beforeChunk: ({ from }) => void starts.push(from) });
    expect(starts.length).toBeGreaterThan(2);
    const job = await getImport(user, previewed.import_id);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/estimated_minutes/);
    expect(job.progress.items_done).toBe(0);
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
    expect(await accountRows(user.id)).toEqual(before);
  });

  it("leaves nothing staged when the account is deleted while it runs", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    await runImportQueue(sent, 1, { chunkItems: 5, maxChunks: 1 });
    expect(await stagedRows(user.id, previewed.import_id)).toBeGreaterThan(0);
    const account = { id: user.id, email: user.email, wasAdmin: false };
    const run = await runErasePlan(env.DB, erasePlan(createDatabase(env.DB), account), {
      rowsPerStatement: 3,
    });
    expect(run.done).toBe(true);
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
  });

  it("is erased by the stale-job sweep when its deliveries died (item 3)", async () => {
    const user = await createUser();
    const before = await accountRows(user.id);
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    // One chunk, then the delivery dies (its message is never seen again).
    await runImportQueue(sent, 1, { chunkItems: 5, maxChunks: 1 });
    expect(await stagedRows(user.id, previewed.import_id)).toBeGreaterThan(0);
    await env.DB.prepare("UPDATE imports SET resends = ? WHERE id = ?")
      .bind(MAX_RESENDS, previewed.import_id)
      .run();
    await sweepImports(Date.now() + STALE_AFTER_MS + MINUTE);
    const job = await getImport(user, previewed.import_id);
    expect(job.status).toBe("failed");
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
    expect(await accountRows(user.id)).toEqual(before);
  });
});
