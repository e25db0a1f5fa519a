/**
 * Jobs that stop moving: a queued job whose message was lost, a running one whose delivery died (over
 * its CPU limit no catch runs, so nothing marks it failed). Housekeeping sends the message again, and
 * fails the job — erasing what it staged — when it still does not move; a commit sends it again too.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_RESENDS, STALE_AFTER_MS } from "../src/features/imports/limits";
import { STUCK_ERROR } from "../src/features/imports/stale";
import { cleanUpImports, IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, createUser, type TestUser } from "./helpers/api";
import { countingD1 } from "./helpers/counting-d1";
import {
  allTasks,
  capturingQueue,
  commit,
  drainImports,
  filesOf,
  getImport,
  preview,
  rowsOf,
  runImportQueue,
  sweepImports,
} from "./helpers/imports";

const MINUTE = 60_000;

function csv(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => `Stuck ${i},${i % 2 ? '"[x] a\nb"' : ""}`);
  return `title,steps\n${rows.join("\n")}\n`;
}

async function committed(user: TestUser, rows: number) {
  const previewed = await preview(user, "csv", csv(rows), { title: "title", steps: "steps" });
  const { sent } = await commit(user, previewed.import_id, "merge");
  const [message] = sent;
  if (!message) throw new Error("the commit queued nothing");
  return { importId: previewed.import_id, message };
}

const resendsOf = async (importId: string) =>
  (
    await env.DB.prepare("SELECT resends FROM imports WHERE id = ?")
      .bind(importId)
      .first<{ resends: number }>()
  )?.resends;

describe("a job whose message was lost", () => {
  it("is left alone while it is fresh, then sent its message again, and finishes", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 30);
    // The message is lost: nobody delivers it.
    expect(await sweepImports(Date.now() + STALE_AFTER_MS - MINUTE)).toEqual([]);
    const resent = await sweepImports(Date.now() + STALE_AFTER_MS + MINUTE);
    expect(resent).toEqual([message]);
    expect(await resendsOf(importId)).toBe(1);
    // Sent once: the sweep that follows at once finds it fresh again.
    expect(await sweepImports(Date.now() + STALE_AFTER_MS + 2 * MINUTE)).toEqual([]);
    await drainImports(resent);
    expect((await getImport(user, importId)).status).toBe("completed");
    expect(await allTasks(user)).toHaveLength(30);
  });

  it("is sent its message again by a commit, once it is stale", async () => {
    const user = await createUser();
    const { importId } = await committed(user, 5);
    expect((await commit(user, importId, "merge")).sent).toEqual([]);
    await env.DB.prepare("UPDATE imports SET updated_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - STALE_AFTER_MS - MINUTE).toISOString(), importId)
      .run();
    const again = await commit(user, importId, "merge");
    expect(again.sent).toEqual([{ type: "import.run", import_id: importId, user_id: user.id }]);
    expect(again.job.status).toBe("queued");
    await drainImports(again.sent);
    expect((await getImport(user, importId)).result).toMatchObject({ created: 5 });
  });
});

describe("a running job that stops moving", () => {
  it("is sent its message a few times, then failed with what it staged erased, and can be committed again", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 40);
    // A delivery writes two chunks, then dies without a word (as one over its CPU limit does).
    await runImportQueue([message], 1, { chunkItems: 10, maxChunks: 2 });
    expect(await getImport(user, importId)).toMatchObject({
      status: "running",
      progress: { items_done: 20 },
    });
    expect(await rowsOf("tasks", user.id)).toBe(20);

    let at = Date.now();
    for (let i = 1; i <= MAX_RESENDS; i++) {
      at += STALE_AFTER_MS + MINUTE;
      expect(await sweepImports(at)).toEqual([message]);
      expect(await resendsOf(importId)).toBe(i);
    }
    at += STALE_AFTER_MS + MINUTE;
    expect(await sweepImports(at)).toEqual([]);
    const failed = await getImport(user, importId);
    expect(failed).toMatchObject({ status: "failed", error: STUCK_ERROR, progress: { items_done: 0 } });
    expect(failed.expires_at).not.toBeNull();
    for (const table of ["tasks", "micro_steps", "import_items"] as const)
      expect(await rowsOf(table, user.id), table).toBe(0);
    // A late delivery of a message sent before writes nothing: the job is no longer running.
    await runImportQueue([message], 1, { chunkItems: 10 });
    expect(await rowsOf("tasks", user.id)).toBe(0);

    // Committed again, it starts over from the file's items (still stored) and finishes.
    expect((await filesOf(user.id)).length).toBeGreaterThan(0);
    const again = await commit(user, importId, "merge");
    await drainImports(again.sent, { chunkItems: 10 });
    expect((await getImport(user, importId)).result).toMatchObject({ created: 40 });
    expect(await allTasks(user)).toHaveLength(40);
  });

  it("that moves again is not counted as stuck: each chunk written starts the count over", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 40);
    await runImportQueue([message], 1, { chunkItems: 10, maxChunks: 1 });
    const resent = await sweepImports(Date.now() + STALE_AFTER_MS + MINUTE);
    expect(await resendsOf(importId)).toBe(1);
    await runImportQueue(resent, 1, { chunkItems: 10, maxChunks: 1 });
    expect(await resendsOf(importId)).toBe(0);
  });

  it("starts its count of resends over when it fails and when it is committed again", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 10);
    const stalled = () =>
      env.DB.prepare("UPDATE imports SET resends = ? WHERE id = ?").bind(MAX_RESENDS, importId).run();
    await stalled();
    // Its last attempt fails the job.
    await runImportQueue([message], IMPORTS_MAX_RETRIES + 1, {
      beforeChunk: () => {
        throw new Error("D1 is down");
      },
    });
    expect((await getImport(user, importId)).status).toBe("failed");
    expect(await resendsOf(importId)).toBe(0);
    await stalled();
    const again = await commit(user, importId, "merge");
    expect(await resendsOf(importId)).toBe(0);
    // Stalled once more, it is sent its message, not given up at once.
    const resent = await sweepImports(Date.now() + STALE_AFTER_MS + MINUTE);
    expect(resent.filter((m) => m.import_id === importId)).toEqual(again.sent);
    expect((await getImport(user, importId)).status).toBe("queued");
  });

  it("of many staged items is failed at once, then erased a bounded page a batch", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 6_000);
    await runImportQueue([message], 1, { chunkItems: 1_000, maxChunks: 6 });
    expect(await rowsOf("tasks", user.id)).toBe(6_000);
    await env.DB.prepare("UPDATE imports SET resends = ?, updated_at = ? WHERE id = ?")
      .bind(MAX_RESENDS, new Date(Date.now() - STALE_AFTER_MS - MINUTE).toISOString(), importId)
      .run();
    const d1 = countingD1(env.DB);
    const { queue } = capturingQueue();
    await cleanUpImports({ ...env, DB: d1.db, IMPORTS_QUEUE: queue });
    expect((await getImport(user, importId)).status).toBe("failed");
    for (const table of ["tasks", "micro_steps", "import_items"] as const)
      expect(await rowsOf(table, user.id), table).toBe(0);
    // 6,000 items in pages of ERASE_PAGE (2,500): three erasing batches after the one that fails the job.
    expect(d1.count()).toBeGreaterThanOrEqual(5);
  });

  it("is no longer a 409 forever: discarded once failed", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 10);
    await runImportQueue([message], 1, { chunkItems: 5, maxChunks: 1 });
    expect((await call(`/api/v1/import/${importId}`, { method: "DELETE", token: user.token })).status).toBe(
      409,
    );
    let at = Date.now();
    for (let i = 0; i <= MAX_RESENDS; i++) {
      at += STALE_AFTER_MS + MINUTE;
      await sweepImports(at);
    }
    expect((await getImport(user, importId)).status).toBe("failed");
    expect((await call(`/api/v1/import/${importId}`, { method: "DELETE", token: user.token })).status).toBe(
      204,
    );
    expect(await filesOf(user.id)).toEqual([]);
  });
});
