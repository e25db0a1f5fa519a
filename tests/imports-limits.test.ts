/**
 * What keeps an import within the platform's limits: the commit reads the items the preview stored,
 * one part per delivery, never the whole file again (its work grows with the file, not its square);
 * a delivery stays within D1's 1,000 statements; a hostile file cannot make a preview D1 cannot store;
 * uploads are rate limited; the commit keeps the 1 MiB body limit; and ids no import has are 404.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { ERASE_BATCH_STATEMENTS, ERASE_PAGE } from "../src/features/imports/discard";
import { MAX_ITEMS } from "../src/features/imports/limits";
import { eraseHiddenTasks } from "../src/features/tasks/bulk-statements";
import { IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, callWith, createUser, problemOf, refusingQueue } from "./helpers/api";
import { countingD1 } from "./helpers/counting-d1";
import {
  allTasks,
  commit,
  filesOf,
  getImport,
  type Import,
  type ImportMessage,
  preview,
  runImportQueue,
  upload,
} from "./helpers/imports";
import { createTask } from "./helpers/tasks";

/** The keys an R2 binding is asked for (and the bytes it answers), per delivery. */
function watchedFiles(files: R2Bucket) {
  let reads: { key: string; size: number }[] = [];
  const wrapped = new Proxy(files, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "get")
        return async (key: string, ...rest: unknown[]) => {
          const object = (await value.call(target, key, ...rest)) as R2ObjectBody | null;
          reads.push({ key, size: object?.size ?? 0 });
          return object;
        };
      return value.bind(target);
    },
  });
  return {
    files: wrapped,
    take: () => {
      const taken = reads;
      reads = [];
      return taken;
    },
  };
}

const MAPPING = { title: "title", due: "due", steps: "steps" };

function bigCsv(n: number): string {
  const rows = Array.from(
    { length: n },
    (_, i) => `Task ${i},${i % 3 === 0 ? "tomorrow 5pm" : ""},${i % 4 === 0 ? '"[x] one\ntwo"' : ""}`,
  );
  return `title,due,steps\n${rows.join("\n")}\n`;
}

describe("a commit", () => {
  it("reads the part its cursor falls in, never the upload again, in at most 1,000 statements a delivery", async () => {
    const user = await createUser();
    const rows = 9_000;
    const previewed = await preview(user, "csv", bigCsv(rows), MAPPING);
    const prefix = `imports/${user.id}/${previewed.import_id}/`;
    expect(await filesOf(user.id)).toEqual([
      `${prefix}items/00000.ndjson`,
      `${prefix}items/00001.ndjson`,
      `${prefix}items/00002.ndjson`,
      `${prefix}upload.csv`,
    ]);
    // Even with the upload gone, the commit has all it needs.
    await env.FILES.delete(`${prefix}upload.csv`);

    const { sent } = await commit(user, previewed.import_id, "merge");
    const d1 = countingD1(env.DB);
    const r2 = watchedFiles(env.FILES);
    let pending: ImportMessage[] = sent;
    const deliveries: { statements: number; reads: string[] }[] = [];
    while (pending.length > 0 && deliveries.length < 20) {
      const before = d1.statements();
      const run = await runImportQueue(pending, 1, {}, { DB: d1.db, FILES: r2.files });
      deliveries.push({
        statements: d1.statements() - before,
        reads: r2.take().map((r) => r.key.slice(prefix.length)),
      });
      pending = run.sent;
    }
    // 10 chunks of 400 a delivery: 4,000 items, one part each, and the final pass.
    expect(deliveries.map((d) => d.reads)).toEqual([
      ["items/00000.ndjson"],
      ["items/00001.ndjson"],
      ["items/00002.ndjson"],
    ]);
    for (const delivery of deliveries) expect(delivery.statements).toBeLessThanOrEqual(1_000);
    expect(Math.max(...deliveries.map((d) => d.statements))).toBeGreaterThan(10);
    const done = await getImport(user, previewed.import_id);
    expect(done).toMatchObject({ status: "completed", result: { created: rows, steps: 2 * (rows / 4) } });
    expect(await filesOf(user.id)).toEqual([]);
  });

  it("resumed mid-part reads from that part on", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", bigCsv(4_100), MAPPING);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const first = await runImportQueue(sent, 1, { chunkItems: 1_000, maxChunks: 3 });
    expect((await getImport(user, previewed.import_id)).progress.items_done).toBe(3_000);
    const r2 = watchedFiles(env.FILES);
    const second = await runImportQueue(
      first.sent,
      1,
      { chunkItems: 1_000, maxChunks: 3 },
      { FILES: r2.files },
    );
    expect(second.sent).toEqual([]);
    expect(r2.take().map((r) => r.key.split("/").at(-1))).toEqual(["00000.ndjson", "00001.ndjson"]);
    expect(await allTasks(user)).toHaveLength(4_100);
  });

  it("fails at once, with a sentence, when the stored items are gone", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", bigCsv(20), MAPPING);
    const { sent } = await commit(user, previewed.import_id, "merge");
    await env.FILES.delete(`imports/${user.id}/${previewed.import_id}/items/00000.ndjson`);
    const run = await runImportQueue(sent);
    expect(run.result.explicitAcks).toHaveLength(1);
    expect(await getImport(user, previewed.import_id)).toMatchObject({
      status: "failed",
      error: "The uploaded file is no longer stored; upload it again.",
    });
  });

  it("keeps the 1 MiB body limit of every other route (only the upload reads more)", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", bigCsv(3), MAPPING);
    const res = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      method: "POST",
      token: user.token,
      body: { mode: "merge", padding: "p".repeat(1024 * 1024 + 10) },
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe("payload_too_large");
    expect((await getImport(user, previewed.import_id)).status).toBe("previewed");
  });
});

describe("a file refused after its first parts were stored", () => {
  it("leaves nothing behind (422)", async () => {
    const user = await createUser();
    // 4,500 good rows, a whole part of them, then bytes that are not text.
    const good = new TextEncoder().encode(bigCsv(4_500));
    const file = new Uint8Array(good.length + 12);
    file.set(good);
    file.set(new TextEncoder().encode("Broken\u0000row\n"), good.length);
    const res = await upload(user, "csv", file, { mapping: MAPPING });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).code).toBe("unreadable_file");
    expect(await filesOf(user.id)).toEqual([]);
  });
});

describe("a hostile file", () => {
  it("makes a preview (and the Idempotency-Key's stored answer) that D1 can hold", async () => {
    const user = await createUser();
    // Twelve ids of 600,000 characters, each row naming a missing parent by another: 7 MB of cells
    // that every list of a preview would otherwise repeat.
    const rows = Array.from(
      { length: 12 },
      (_, i) =>
        `${String(i).padStart(2, "0")}${"i".repeat(600_000)},Row ${i},missing-${i}${"p".repeat(10_000)}`,
    );
    const file = `id,title,parent\n${rows.join("\n")}\n`;
    const res = await upload(user, "csv", file, {
      mapping: { id: "id", title: "title", parent: "parent" },
      headers: { "idempotency-key": "hostile-1" },
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as Import;
    expect(job.preview.counts).toMatchObject({ tasks: 12, problems: 12 });
    expect(job.preview.truncated).toBe(true);
    for (const p of job.preview.problems) expect(p.message.length).toBeLessThan(200);
    const stored = await env.DB.prepare("SELECT length(preview) AS n FROM imports WHERE id = ?")
      .bind(job.import_id)
      .first<{ n: number }>();
    expect(stored?.n).toBeLessThanOrEqual(1_000_000);
    const answer = await env.DB.prepare(
      "SELECT length(response_body) AS n FROM idempotency_keys WHERE user_id = ? AND key LIKE '%hostile-1'",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(answer?.n).toBeGreaterThan(0);
    expect(answer?.n).toBeLessThanOrEqual(1_100_000);
  });

  it("an ordinary file's preview is not cut", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", bigCsv(30), MAPPING);
    expect(previewed.preview.truncated).toBe(false);
    expect(previewed.preview.first_items).toHaveLength(10);
  });
});

describe("uploads", () => {
  it("are rate limited per user (429 with Retry-After), before the file is read", async () => {
    const user = await createUser();
    const limited = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    const res = await callWith(
      { IMPORT_LIMITER: limited },
      "/api/v1/import?source=csv&mapping=%7B%22title%22%3A%22t%22%7D",
      {
        method: "POST",
        token: user.token,
        body: "t\nA\n",
        headers: { "content-type": "text/csv" },
      },
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(await filesOf(user.id)).toEqual([]);
  });
});

describe("an id no import has", () => {
  it("is 404 however long it is, for reading, committing and discarding", async () => {
    const user = await createUser();
    for (const id of ["nope", "x".repeat(65), "y".repeat(500)]) {
      expect((await call(`/api/v1/import/${id}`, { token: user.token })).status, id).toBe(404);
      expect((await call(`/api/v1/import/${id}`, { method: "DELETE", token: user.token })).status).toBe(404);
      const commitRes = await call(`/api/v1/import/${id}/commit`, {
        method: "POST",
        token: user.token,
        body: { mode: "merge" },
      });
      expect(commitRes.status).toBe(404);
    }
  });
});

describe("a failed job the queue then refuses to take again", () => {
  it("answers 503 and keeps its error", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", bigCsv(20), MAPPING);
    const { sent } = await commit(user, previewed.import_id, "merge");
    await runImportQueue(sent, IMPORTS_MAX_RETRIES + 1, {
      chunkItems: 10,
      beforeChunk: () => {
        throw new Error("D1_ERROR: injected");
      },
    });
    const failed = await getImport(user, previewed.import_id);
    expect(failed.status).toBe("failed");
    expect(failed.error).not.toBeNull();
    const down = refusingQueue<ImportMessage>();
    const res = await callWith({ IMPORTS_QUEUE: down }, `/api/v1/import/${previewed.import_id}/commit`, {
      method: "POST",
      token: user.token,
      body: { mode: "merge" },
    });
    expect(res.status).toBe(503);
    expect(await getImport(user, previewed.import_id)).toMatchObject({
      status: "failed",
      error: failed.error,
      expires_at: failed.expires_at,
    });
  });
});

describe("discarding the largest import", () => {
  it("stays within D1's 1,000 statements per invocation, the request's own reads included", async () => {
    // One batch per page: the guard, the page's hidden tasks' steps, links and tasks, then its items.
    const user = await createUser();
    const task = await createTask(user, { title: "mine" });
    const db = createDatabase(env.DB);
    const erased = eraseHiddenTasks(db, user.id, sql`(SELECT ${task.task_id})`, "never");
    expect(erased.length + 2).toBe(ERASE_BATCH_STATEMENTS);
    expect(Math.ceil(MAX_ITEMS / ERASE_PAGE) * ERASE_BATCH_STATEMENTS).toBeLessThanOrEqual(400);
  });
});
