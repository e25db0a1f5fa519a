import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { download, exportAccount } from "./helpers/export";
import { ledgerOf, profileOf } from "./helpers/gamification";
import {
  allTasks,
  commit,
  drainImports,
  filesOf,
  getImport,
  type Import,
  rowsOf,
  runImportQueue,
} from "./helpers/imports";
import { restoreFile, restoreView, seedAccount, settleAll, uploadRestore } from "./helpers/restore";
import { completeTask, createTask } from "./helpers/tasks";

const restore = restoreFile;

describe("restoring an export", () => {
  let source: TestUser;
  let file: string;
  let link: string;
  let view: Awaited<ReturnType<typeof restoreView>>;

  beforeAll(async () => {
    source = await createUser({ timezone: "Europe/Paris" });
    await seedAccount(source);
    view = await restoreView(source);
    const done = await exportAccount(source, "json");
    link = done.download_url ?? "";
    file = await (await download(link)).text();
  });

  it("previews what the file holds, table by table, with its first tasks", async () => {
    const fresh = await createUser();
    const res = await uploadRestore(fresh, file);
    expect(res.status).toBe(201);
    const dto = (await res.json()) as Import;
    expect(dto.source).toBe("export");
    expect(dto.status).toBe("previewed");
    expect(dto.preview.counts.tasks).toBeGreaterThanOrEqual(3);
    expect(dto.preview.counts.tables?.micro_steps).toBe(dto.preview.counts.steps);
    expect(dto.preview.counts.tables?.xp_ledger).toBeGreaterThan(0);
    expect(dto.preview.first_items.map((i) => i.title)).toContain("Plan the party");
    expect(dto.preview.counts.duplicates).toBe(0);
  });

  it("gives a fresh account the same data, seen through the API, modulo ids", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const { done } = await restore(fresh, file);
    expect(done.status).toBe("completed");
    expect(done.result?.created).toBeGreaterThanOrEqual(3);
    expect(await restoreView(fresh)).toEqual(view);
    // Nothing changed in the source since the export: the file is the account as it is.
    expect(await restoreView(source)).toEqual(view);
  });

  it("changes nothing when the same file is restored again (XP exactly once, no duplicate task)", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    await restore(fresh, file);
    const once = await restoreView(fresh);
    const xp = (await profileOf(fresh)).total_xp;
    const { previewed, done } = await restore(fresh, file);
    expect(previewed.preview.counts.duplicates).toBe(previewed.preview.counts.tasks);
    expect(done.result?.created).toBe(0);
    expect(await restoreView(fresh)).toEqual(once);
    expect((await profileOf(fresh)).total_xp).toBe(xp);
  });

  it("restores from a signed download link, read where the export lies: no upload, the same data", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const res = await uploadRestore(fresh, JSON.stringify({ download_url: link }), {
      "content-type": "application/json",
    });
    expect(res.status).toBe(201);
    const previewed = (await res.json()) as Import;
    // Nothing was copied: the restore reads the export's own file.
    expect(await filesOf(fresh.id)).toEqual([]);
    const { sent } = await commit(fresh, previewed.import_id, "merge");
    await drainImports(sent);
    await settleAll(fresh);
    expect((await getImport(fresh, previewed.import_id)).status).toBe("completed");
    expect(await restoreView(fresh)).toEqual(view);
  });

  it("refuses a link whose signature or expiry was changed (422), storing nothing", async () => {
    const fresh = await createUser();
    const url = new URL(link);
    const forged = new URL(link);
    forged.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 60));
    for (const bad of [
      forged.toString(),
      link.replace(/signature=(.)/, (_, c: string) => `signature=${c === "A" ? "B" : "A"}`),
      "not a url",
      `${url.origin}/x`,
    ]) {
      const res = await uploadRestore(fresh, JSON.stringify({ download_url: bad }));
      expect(res.status).toBe(422);
      expect((await problemOf(res)).detail).toMatch(/download|link|URL/i);
    }
    expect(await rowsOf("imports", fresh.id)).toBe(0);
  });

  it("accepts the file gzip-compressed (Content-Encoding: gzip)", async () => {
    const fresh = await createUser();
    const zipped = new Uint8Array(
      await new Response(new Blob([file]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    const res = await uploadRestore(fresh, zipped, { "content-encoding": "gzip" });
    expect(res.status).toBe(201);
    const dto = (await res.json()) as Import;
    const summary = file.trimEnd().slice(file.lastIndexOf('"summary":') + 10, -1);
    expect(dto.preview.counts.tables).toEqual(JSON.parse(summary).counts);
    const [key] = await filesOf(fresh.id);
    expect(await (await env.FILES.get(key ?? ""))?.text()).toBe(file);
  });

  it("refuses a corrupted export with the reason, and writes and stores nothing", async () => {
    const fresh = await createUser();
    const tasksAt = file.indexOf('"tasks":[');
    const row = file.indexOf('"title":', tasksAt);
    const cases: [string, RegExp][] = [
      [file.slice(0, Math.floor(file.length / 2)), /cut short|ends before/],
      [`${file.slice(0, row + 7)};${file.slice(row + 8)}`, /not valid|JSON/],
      [file.replace('"version":1', '"version":2'), /version 2/],
      [file.replace('"format":"proxy-agent-platform.export"', '"format":"something.else"'), /not a/],
      ["", /empty/],
      [JSON.stringify({ hello: "world" }), /not valid|header|format/i],
    ];
    for (const [body, reason] of cases) {
      const res = await uploadRestore(fresh, body);
      expect(res.status, body.slice(0, 40)).toBe(422);
      expect((await problemOf(res)).detail).toMatch(reason);
    }
    expect(await rowsOf("imports", fresh.id)).toBe(0);
    expect(await filesOf(fresh.id)).toEqual([]);
    expect(await rowsOf("tasks", fresh.id)).toBe(0);
  });

  it("checks a file not checked at the preview before writing anything: a corrupted one fails the job", async () => {
    const fresh = await createUser();
    const res = await uploadRestore(fresh, file);
    const previewed = (await res.json()) as Import;
    // As for a file too big to check in the upload's request: the job checks it as it writes.
    await env.DB.prepare("UPDATE imports SET mapping = json_set(mapping, '$.validated', '0') WHERE id = ?")
      .bind(previewed.import_id)
      .run();
    const [key] = await filesOf(fresh.id);
    await env.FILES.put(key ?? "", file.replace('"version":1', '"version":9'));
    const { sent } = await commit(fresh, previewed.import_id, "merge");
    await drainImports(sent);
    const failed = await getImport(fresh, previewed.import_id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/version 9/);
    for (const table of ["tasks", "micro_steps", "task_dependencies"] as const)
      expect(await rowsOf(table, fresh.id)).toBe(0);
    expect((await ledgerOf(fresh)).length).toBe(0);
  });

  it("shows nothing of a commit stopped halfway, and resumes it where it stopped", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const previewed = (await (await uploadRestore(fresh, file)).json()) as Import;
    const { sent } = await commit(fresh, previewed.import_id, "merge");
    let chunks = 0;
    const failing = {
      chunkItems: 4,
      beforeChunk: () => {
        chunks += 1;
        if (chunks === 3) throw new Error("D1 went away");
      },
    };
    const first = await runImportQueue(sent, 1, failing);
    expect(first.result.retryMessages).toHaveLength(1);
    const halfway = await getImport(fresh, previewed.import_id);
    expect(halfway.status).toBe("running");
    expect(halfway.progress.items_done).toBe(8);
    expect(await allTasks(fresh)).toEqual([]);
    const starts: number[] = [];
    await drainImports(sent, { chunkItems: 4, beforeChunk: ({ from }) => void starts.push(from) });
    expect(starts[0]).toBe(8);
    await settleAll(fresh);
    expect((await getImport(fresh, previewed.import_id)).status).toBe("completed");
    expect(await restoreView(fresh)).toEqual(view);
  });

  it("replaces the account's tasks with the file's (replace)", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    await createTask(fresh, { title: "Mine, before the restore" });
    const { done } = await restore(fresh, file, "replace");
    expect(done.result?.replaced).toBe(1);
    expect((await allTasks(fresh)).map((t) => t.title).sort()).toEqual(view.tasks.map((t) => t.title).sort());
    // Restoring the same file again in replace mode keeps exactly the restored tasks.
    await restore(fresh, file, "replace");
    expect((await allTasks(fresh)).map((t) => t.title).sort()).toEqual(view.tasks.map((t) => t.title).sort());
  });

  it("merges into an account with XP of its own: both ledgers, the totals derived from them", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const own = await createTask(fresh, { title: "My own work" });
    await completeTask(fresh, own.task_id);
    await settleAll(fresh);
    const mine = (await profileOf(fresh)).total_xp;
    expect(mine).toBeGreaterThan(0);
    await restore(fresh, file);
    expect((await profileOf(fresh)).total_xp).toBe(mine + view.xp.total);
  });

  it("restored XP counts toward the total and level, never toward the leaderboards", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const name = `Restorer ${crypto.randomUUID().slice(0, 6)}`;
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: fresh.token,
      body: { opt_in: true, display_name: name },
    });
    await restore(fresh, file);
    const board = await callJson<{ me: { xp: number } | null }>(
      "/api/v1/gamification/enhanced/leaderboard",
      200,
      {
        token: fresh.token,
      },
    );
    // Restored XP is the account's history (its total and level) but never scores on the boards:
    // the person is on them (opted in here), with what they earned here since.
    expect(view.xp.total).toBeGreaterThan(0);
    expect((await profileOf(fresh)).total_xp).toBe(view.xp.total);
    expect(board.me?.xp).toBe(0);
  });

  it("is someone else's business only through the link: another user's import id is 404", async () => {
    const owner = await createUser();
    const stranger = await createUser();
    const previewed = (await (await uploadRestore(owner, file)).json()) as Import;
    const res = await call(`/api/v1/import/${previewed.import_id}`, { token: stranger.token });
    expect(res.status).toBe(404);
    const committing = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      method: "POST",
      token: stranger.token,
      body: { mode: "merge" },
    });
    expect(committing.status).toBe(404);
  });
});

/** `count` tasks of about 3.4 KB (multi-byte text, quotes) and three steps each, straight into D1. */
async function seedBulk(userId: string, count: number): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT INTO tasks (id, user_id, title, description, status, priority, tags, created_at, updated_at)
     SELECT printf('00000000-0000-7000-8000-%012d', i) || substr(?1, 1, 0), ?1, printf('Bulk task %d ✓', i),
       replace(hex(zeroblob(300)), '00', 'é🙂,"x" '), CASE i % 3 WHEN 0 THEN 'completed' ELSE 'pending' END,
       'medium', '["bulk"]', ?3, ?3 FROM n`,
  )
    .bind(userId, count, now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2), k(j) AS (VALUES (1), (2), (3))
     INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, created_at, updated_at)
     SELECT printf('00000000-0000-7000-9%03d-%012d', j, i), printf('00000000-0000-7000-8000-%012d', i), ?1, j,
       printf('Step %d of task %d', j, i), 3, ?3, ?3
     FROM n, k`,
  )
    .bind(userId, count, now)
    .run();
}

describe("restoring an export too big to check in the request", () => {
  it("previews it from its head and tail, checks it in the job as it writes, and resumes each delivery at a byte", async () => {
    const source = await createUser();
    await seedBulk(source.id, 5200);
    const done = await exportAccount(source, "json");
    expect(done.bytes).toBeGreaterThan(16 * 1024 * 1024);
    const fresh = await createUser();
    const res = await uploadRestore(fresh, JSON.stringify({ download_url: done.download_url }));
    expect(res.status).toBe(201);
    const previewed = (await res.json()) as Import;
    expect(previewed.preview.counts.tables?.tasks).toBe(5200);
    expect(previewed.preview.counts.steps).toBe(15600);
    expect(previewed.preview.first_items).toHaveLength(10);
    const { sent } = await commit(fresh, previewed.import_id, "merge");
    const starts: number[] = [];
    const sizes: number[] = [];
    const runs = await drainImports(sent, {
      chunkItems: 3000,
      maxChunks: 1,
      beforeChunk: ({ from, size }) => {
        starts.push(from);
        sizes.push(size);
      },
    });
    // Checked as it is written (its check's state saved with the cursor): one chunk a delivery, each
    // starting where the last stopped (at most 3,000 rows, fewer when their bytes reach the chunk's size).
    const rows = Object.values(previewed.preview.counts.tables ?? {}).reduce((a, b) => a + b, 0);
    expect(runs).toBe(starts.length);
    expect(starts[0]).toBe(0);
    for (let i = 1; i < starts.length; i++)
      expect(starts[i]).toBe((starts[i - 1] ?? 0) + (sizes[i - 1] ?? 0));
    expect(sizes.every((n) => n <= 3000)).toBe(true);
    expect((starts.at(-1) ?? 0) + (sizes.at(-1) ?? 0)).toBe(rows);
    const restored = await getImport(fresh, previewed.import_id);
    expect(restored.status).toBe("completed");
    expect(restored.result).toMatchObject({ created: 5200, steps: 15600 });
    const sample = await env.DB.prepare(
      "SELECT title, description FROM tasks WHERE user_id = ? AND title = 'Bulk task 4321 ✓'",
    )
      .bind(fresh.id)
      .first<{ title: string; description: string }>();
    expect(sample?.description).toContain('é🙂,"x" ');
  }, 120_000);
});
